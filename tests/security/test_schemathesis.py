"""Property-based requests generated from the OpenAPI document (schemathesis) against a real
``xueliang serve`` with an administrator's token: no operation answers with a server error."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("schemathesis")

import schemathesis  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from tests.support.platform import running_platform  # noqa: E402

# Calls that would end the test's own session or wait on cameras that do not exist.
SKIP = {
    ("POST", "/api/v1/auth/logout"),
    ("DELETE", "/api/v1/auth/sessions/{session_id}"),
    ("GET", "/api/v1/auth/oidc/login"),
    ("GET", "/api/v1/auth/oidc/callback"),
}
# Gateway answers that are the platform's documented replies for a device that is away.
GATEWAY = {502, 503, 504}


@pytest.mark.slow
def test_no_server_error_anywhere(tmp_path: Path) -> None:
    with running_platform(tmp_path) as platform:
        schema = schemathesis.openapi.from_url(f"{platform.api}/openapi.json")
        base = f"http://{platform.http}"
        checked = 0
        for result in schema.get_all_operations():
            operation = result.ok()
            if (operation.method.upper(), operation.path) in SKIP:
                continue

            @given(case=operation.as_strategy())
            @settings(
                max_examples=12,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            def no_server_error(case: schemathesis.Case) -> None:
                response = case.call(base_url=base, headers=platform.headers, timeout=30)
                status = response.status_code
                request = f"{case.method} {case.formatted_path} {case.query} {case.body}"
                assert status < 500 or status in GATEWAY, f"{request}: {status} {response.text[:300]}"

            no_server_error()
            checked += 1
        assert checked > 30
        assert "Traceback" not in platform.log(), platform.log()[-3000:]
