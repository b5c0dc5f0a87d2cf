"""Work orders opened and closed from the intervals, one per channel and cause, history kept."""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from tests.insight.conftest import T0, H

from xueliang.catalog import record_states
from xueliang.insight import (
    WorkOrder,
    WorkOrderConflict,
    WorkOrderEvent,
    WorkOrderFilter,
    WorkOrderNotFound,
    WorkOrderPolicy,
    assign_work_order,
    close_work_order,
    comment_work_order,
    get_work_order,
    list_work_orders,
    reconcile_work_orders,
)

M = timedelta(minutes=1)
POLICY = WorkOrderPolicy(grace=10 * M)


@asynccontextmanager
async def tx(session):
    """Commit on success, roll back on error (the session may already be in a transaction)."""
    try:
        yield
    except BaseException:
        await session.rollback()
        raise
    await session.commit()


async def reconcile(session, now):
    async with tx(session):
        return await reconcile_work_orders(session, now, POLICY)


async def orders(session):
    rows = await session.execute(select(WorkOrder).order_by(WorkOrder.id))
    return [o for (o,) in rows]


async def test_faults_open_one_order_per_channel_and_cause(session, city):
    now = T0 + 10 * H
    result = await reconcile(session, now)
    # c2 offline since -1 d; c1 blur since 4 h; c3/c4 have no open fault
    assert result.opened == 2
    found = {(o.channel_name, o.cause): o for o in await orders(session)}
    assert set(found) == {("c2", "offline"), ("c1", "blur")}
    c2 = found[("c2", "offline")]
    assert (c2.priority, c2.status, c2.kind, c2.due_at) == (2, "open", "online", now + 24 * H)
    assert found[("c1", "blur")].priority == 1 and found[("c1", "blur")].due_at == now + 4 * H
    assert c2.organization_id == city.orgs["police"]
    again = await reconcile(session, now + M)  # polling again opens nothing new
    assert again.opened == 0 and len(await orders(session)) == 2


async def test_grace_time_before_opening(session, city):
    async with tx(session):
        await record_states(session, "output", {city.ids["c1"]: "fail"}, T0 + 20 * H)
    assert (await reconcile(session, T0 + 20 * H + 5 * M)).opened == 2  # c2, c1 blur; fail too young
    assert (await reconcile(session, T0 + 20 * H + 10 * M)).opened == 1
    assert {o.cause for o in await orders(session)} == {"offline", "blur", "no_output"}


async def test_recovery_is_verified_before_closing(session, city):
    c2 = city.ids["c2"]
    await reconcile(session, T0 + 10 * H)
    back = T0 + 11 * H
    async with tx(session):
        await record_states(session, "online", {c2: "online"}, back)
    first = await reconcile(session, back + 2 * M)
    assert (first.recovering, first.closed) == (1, 0)
    async with tx(session):  # bad again before the grace time: relapsed, still open
        await record_states(session, "online", {c2: "offline"}, back + 5 * M)
    assert (await reconcile(session, back + 6 * M)).relapsed == 1
    async with tx(session):
        await record_states(session, "online", {c2: "online"}, back + 7 * M)
    assert (await reconcile(session, back + 16 * M)).closed == 0  # only 9 minutes good
    assert (await reconcile(session, back + 17 * M)).closed == 1
    order = next(o for o in await orders(session) if o.cause == "offline")
    assert (order.status, order.resolution, order.open_key) == ("closed", "recovered", None)
    detail = await get_work_order(session, order.id, now=back + 20 * M)
    kinds = [e["kind"] for e in detail["events"]]
    assert kinds == ["opened", "recovering", "relapsed", "recovering", "closed"]
    # a new fault of the same cause later opens a new order
    async with tx(session):
        await record_states(session, "online", {c2: "offline"}, back + 30 * M)
    assert (await reconcile(session, back + 41 * M)).opened == 1
    assert await session.scalar(select(func.count()).where(WorkOrder.cause == "offline")) == 2


async def test_operators_assign_comment_close(session, city):
    now = T0 + 10 * H
    await reconcile(session, now)
    order_id = (await orders(session))[0].id
    async with tx(session):
        await assign_work_order(session, order_id, "维保公司甲", actor="zhang", now=now + H, note="上午处理")
        await comment_work_order(session, order_id, "已到现场", actor="li", now=now + 2 * H)
    with pytest.raises(ValueError):
        async with tx(session):
            await close_work_order(session, order_id, "   ", actor="zhang", now=now + 3 * H)
    async with tx(session):
        await close_work_order(session, order_id, "设备已拆除", actor="zhang", now=now + 3 * H)
    with pytest.raises(WorkOrderConflict):
        async with tx(session):
            await close_work_order(session, order_id, "again", actor="zhang", now=now + 4 * H)
    with pytest.raises(WorkOrderNotFound):
        async with tx(session):
            await assign_work_order(session, 9999, "x", actor="zhang", now=now)
    detail = await get_work_order(session, order_id, now=now + 5 * H)
    assert detail["status"] == "closed" and detail["resolution"] == "operator"
    assert detail["close_reason"] == "设备已拆除" and detail["assignee"] == "维保公司甲"
    assert [(e["kind"], e["actor"]) for e in detail["events"]] == [
        ("opened", "system"),
        ("assigned", "zhang"),
        ("comment", "li"),
        ("closed", "zhang"),
    ]
    # closed by hand while the fault persists: the reconciler opens a fresh order next time
    assert (await reconcile(session, now + 6 * H)).opened == 1
    assert await session.scalar(select(func.count(WorkOrderEvent.id))) == 4 + 2


async def test_overdue_and_filters(session, city):
    now = T0 + 10 * H
    await reconcile(session, now)
    later = now + 5 * H  # c1's priority-1 order (4 h) is overdue, c2's (24 h) is not
    overdue, total = await list_work_orders(session, WorkOrderFilter(overdue=True), now=later)
    assert total == 1 and overdue[0]["channel_name"] == "c1" and overdue[0]["overdue"]
    items, total = await list_work_orders(session, WorkOrderFilter(status="active"), now=later)
    assert [i["channel_name"] for i in items] == ["c1", "c2"]  # most urgent first
    _, in_region = await list_work_orders(session, WorkOrderFilter(region="340203"), now=later)
    assert in_region == 0
    police, _ = await list_work_orders(
        session, WorkOrderFilter(org_path=f"/{city.orgs['police']}/"), now=later
    )
    assert {i["channel_name"] for i in police} == {"c1", "c2"}  # c1 belongs to the sub-bureau
    assert {i["organization"] for i in police} == {"police", "police-sub"}
