"""Alembic migrations: they build exactly the models' schema, and go down and up again."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from xueliang.db import Base, create_engine
from xueliang.migrate import alembic_config, upgrade_async
from xueliang.models import load_all


async def test_migrations_match_the_models(engine):
    load_all()

    def diff(connection):
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)

    async with engine.connect() as connection:
        assert await connection.run_sync(diff) == []


async def test_downgrade_to_nothing_and_back(database_url):
    from alembic import command

    engine = create_engine(database_url)
    try:
        await upgrade_async(engine)

        def down(connection):
            config = alembic_config(database_url)
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
            return inspect(connection).get_table_names()

        async with engine.begin() as connection:
            assert set(await connection.run_sync(down)) <= {"alembic_version"}
        await upgrade_async(engine)
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        assert {"channel", "device", "region", "organization"} <= set(tables)
    finally:
        await engine.dispose()
