"""The governance pages in headless Chromium: asset security, the audit log, users and sessions,
grants and shares. Each shows what the API says, and a change made through the page is what the
API then holds. Nav entries appear only for users with the page's action."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import httpx
import pytest
from tests.support.auth import ADMIN, PASSWORD
from tests.web.conftest import SCREENSHOTS, Tab, WebCity, sign_in

pytestmark = pytest.mark.slow

ROWS = "[data-testid={}] tbody tr:not(.n-data-table-tr--empty)"


async def screenshot(tab: Tab, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await tab.page.locator(".n-message").first.wait_for(state="detached", timeout=10_000)  # toasts gone
    await tab.page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


async def confirm_popover(tab: Tab) -> None:
    """Press the positive button of the open confirmation popover."""
    await tab.page.locator(".n-popconfirm__action .n-button--primary-type").click()


async def test_asset_security_page(tab: Tab, web_city: WebCity) -> None:
    page = tab.page
    await page.goto(web_city.base + "/security")
    await page.get_by_role("heading", name="资产安全").wait_for()
    await page.locator("[data-testid=alerts-table] .n-data-table-base-table").wait_for()
    await page.wait_for_load_state("networkidle")
    summary = web_city.get("/security/alerts/summary")["by_kind"]
    for kind, counts in summary.items():
        card = page.locator(f"[data-kind={kind}]")
        assert await card.locator("[data-testid=open-count]").inner_text() == str(counts["open"]), kind
        assert await card.locator("[data-testid=all-count]").inner_text() == str(counts["alerts"]), kind

    # A vulnerable-firmware entry covering the simulated devices' firmware ("V4.62.210", ...)
    # raises alerts at once.
    form = page.locator("[data-testid=firmware-form]")
    await form.get_by_role("textbox", name="固件版本（可用 * ?）").fill("V*")
    await form.get_by_role("textbox", name="漏洞说明").fill("CNVD-TEST-0001 远程代码执行")
    await form.get_by_role("button", name="添加").click()
    await page.locator("[data-testid=firmware-table]").get_by_text("CNVD-TEST-0001 远程代码执行").wait_for()
    entries = web_city.get("/security/vulnerable-firmware")["items"]
    assert [(e["firmware"], e["advisory"]) for e in entries] == [("V*", "CNVD-TEST-0001 远程代码执行")]
    opened = web_city.get("/security/alerts", kind="vulnerable_firmware", open="true")
    assert opened["total"] > 0, "no simulated device reports a firmware starting with V"
    card = page.locator("[data-kind=vulnerable_firmware] [data-testid=open-count]")
    await page.wait_for_function(
        "([el, n]) => el.innerText === n", arg=[await card.element_handle(), str(opened["total"])]
    )

    # Resolve the newest open alert with a note.
    await page.locator("[data-kind=vulnerable_firmware]").click()
    first = page.locator(ROWS.format("alerts-table")).first
    await first.get_by_text("漏洞固件").wait_for()
    alert_id = int(await first.locator("td").first.inner_text())
    await first.get_by_role("button", name="处理").click()
    await page.get_by_role("textbox", name="处理说明").fill("已升级固件")
    await page.locator("[data-testid=resolve-confirm]").click()
    await page.get_by_text("告警已处理").wait_for()
    resolved = web_city.get("/security/alerts", kind="vulnerable_firmware", open="false")["items"]
    assert [(a["id"], a["note"], a["resolved_by"]) for a in resolved] == [(alert_id, "已升级固件", ADMIN)]
    await page.locator("[data-kind=vulnerable_firmware]").click()  # all kinds again, for the picture
    await page.wait_for_load_state("networkidle")
    await screenshot(tab, "security.png")

    # Delete the entry; its alerts stay until resolved.
    await page.locator(ROWS.format("firmware-table")).first.get_by_role("button", name="删除").click()
    await confirm_popover(tab)
    await page.get_by_text("已删除").wait_for()
    assert web_city.get("/security/vulnerable-firmware")["items"] == []


async def test_audit_page_search_csv_and_chain(tab: Tab, web_city: WebCity) -> None:
    page = tab.page
    await page.goto(web_city.base + "/audit")
    rows = page.locator(ROWS.format("audit-table"))
    await rows.first.wait_for()
    listed = web_city.get("/audit", page_size=50)
    shown = [int(await row.locator("td").first.inner_text()) for row in await rows.all()]
    assert shown == [r["id"] for r in listed["items"]]
    assert await page.get_by_text(f"共 {listed['total']} 条").count() == 1

    await page.get_by_role("textbox", name="操作人").fill(ADMIN)
    await page.get_by_role("button", name="搜索", exact=True).click()
    await page.wait_for_load_state("networkidle")
    mine = web_city.get("/audit", user=ADMIN, page_size=50)
    shown = [int(await row.locator("td").first.inner_text()) for row in await rows.all()]
    assert shown == [r["id"] for r in mine["items"]] and shown
    assert {await row.locator("td").nth(2).inner_text() for row in await rows.all()} == {ADMIN}

    async with page.expect_download() as waiting:
        await page.locator("[data-testid=audit-csv]").click()
    download = await waiting.value
    assert download.suggested_filename == "xueliang-audit.csv"
    text = Path(await download.path()).read_text(encoding="utf-8")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][:3] == ["id", "at", "actor"]
    assert {row[2] for row in table[1:]} == {ADMIN} and len(table) - 1 >= mine["total"]

    await page.locator("[data-testid=audit-verify]").click()
    verdict = page.locator("[data-testid=audit-verdict]")
    await verdict.wait_for()
    checked = web_city.get("/audit/verify")
    assert checked["ok"]
    assert "哈希链完整" in await verdict.inner_text()
    await page.get_by_role("button", name="重置").click()  # every record again, the export's too
    await page.get_by_text(f"共 {web_city.get('/audit')['total']} 条").wait_for()
    await screenshot(tab, "audit.png")


async def test_users_page_add_disable_and_nav_by_action(tab: Tab, web_city: WebCity) -> None:
    page = tab.page
    await page.goto(web_city.base + "/users")
    rows = page.locator(ROWS.format("users-table"))
    await rows.first.wait_for()
    names = [await row.locator("td").first.inner_text() for row in await rows.all()]
    assert names == [u["username"] for u in web_city.get("/users")["items"]]
    sessions = page.locator(ROWS.format("sessions-table"))
    assert await sessions.count() == web_city.get("/auth/sessions")["total"] > 0

    form = page.locator("[data-testid=user-form]")
    await form.get_by_role("textbox", name="用户名").fill("zhang.wei")
    await form.get_by_role("textbox", name="显示名").fill("张伟")
    await form.get_by_role("textbox", name="部门").fill("交警支队")
    await form.get_by_role("textbox", name="初始密码").fill(PASSWORD)
    await form.get_by_role("button", name="添加用户").click()
    await page.get_by_text("已添加用户 zhang.wei").wait_for()
    made = {u["username"]: u for u in web_city.get("/users")["items"]}["zhang.wei"]
    assert (made["display_name"], made["department"], made["roles"], made["disabled"]) == (
        "张伟", "交警支队", ["viewer"], False
    )

    # A viewer sees no governance entries, and the pages answer "not found".
    await page.get_by_role("button", name="退出登录").click()
    await page.wait_for_url(re.compile(r"/login$"))
    await sign_in(page, web_city.base, "zhang.wei", PASSWORD)
    nav = page.get_by_role("navigation")
    await nav.get_by_role("link", name="地图").wait_for()
    for label in ("资产安全", "审计", "用户", "授权"):
        assert await nav.get_by_role("link", name=label, exact=True).count() == 0, label
    await page.goto(web_city.base + "/users")
    await page.get_by_text("页面不存在").wait_for()
    await page.get_by_role("button", name="退出登录").click()
    await page.wait_for_url(re.compile(r"/login$"))
    await sign_in(page, web_city.base)
    for label in ("资产安全", "审计", "用户", "授权"):
        assert await nav.get_by_role("link", name=label, exact=True).count() == 1, label

    await page.goto(web_city.base + "/users")
    await page.locator("[data-testid=toggle-zhang\\.wei]").click()
    await page.get_by_text("已停用").wait_for()
    made = {u["username"]: u for u in web_city.get("/users")["items"]}["zhang.wei"]
    assert made["disabled"] is True
    refused = httpx.post(
        f"{web_city.city.platform.api}/auth/token", data={"username": "zhang.wei", "password": PASSWORD}
    )
    assert refused.status_code in (401, 403), refused.text


async def test_grants_page_add_and_revoke(tab: Tab, web_city: WebCity) -> None:
    page = tab.page
    await page.goto(web_city.base + "/grants")
    await page.get_by_role("heading", name="授权与共享").wait_for()
    rows = page.locator(ROWS.format("grants-table"))
    await rows.first.wait_for()
    before = [g for g in web_city.get("/grants")["items"] if g["kind"] != "share"]
    assert [int(await row.locator("td").first.inner_text()) for row in await rows.all()] == [
        g["id"] for g in before
    ]

    form = page.locator("[data-testid=grant-form]")
    await form.get_by_text("部门", exact=True).click()
    await form.get_by_role("textbox", name="部门").fill("城管局")
    await form.get_by_text("拒绝", exact=True).click()
    await form.get_by_role("textbox", name="行政区划前缀").fill("3301")
    await form.get_by_role("textbox", name="备注").fill("夜间不得查看")
    await page.locator("[data-testid=grant-submit]").click()
    await page.get_by_text(re.compile(r"已添加 #\d+")).wait_for()
    after = [g for g in web_city.get("/grants")["items"] if g["kind"] != "share"]
    (added,) = [g for g in after if g["id"] not in {b["id"] for b in before}]
    assert (added["department"], added["effect"], added["region"], added["role"], added["note"]) == (
        "城管局", "deny", "3301", "viewer", "夜间不得查看"
    )
    await rows.nth(len(after) - 1).get_by_text("城管局").wait_for()

    # A share needs a department and an end; without the end the page says why in words.
    await form.get_by_text("共享", exact=True).click()
    await form.get_by_role("textbox", name="部门").fill("交警支队")
    await page.locator("[data-testid=grant-submit]").click()
    await page.get_by_text(re.compile("expires_at")).wait_for()
    assert web_city.get("/shares")["items"] == []

    await page.locator(f"[data-testid=revoke-{added['id']}]").click()
    await confirm_popover(tab)
    await page.get_by_text("已撤销").wait_for()
    assert added["id"] not in {g["id"] for g in web_city.get("/grants")["items"]}


async def test_governance_pages_in_english_fit_a_laptop(tab: Tab, web_city: WebCity) -> None:
    page = tab.page
    await page.evaluate("localStorage.setItem('xueliang.locale', 'en')")
    for path, title in (
        ("/security", "Asset security"),
        ("/audit", "Audit log"),
        ("/users", "Users"),
        ("/grants", "Grants and shares"),
    ):
        await page.goto(web_city.base + path)
        await page.get_by_role("heading", name=title, exact=True).wait_for()
        await page.wait_for_load_state("networkidle")
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways in English at 1366×768"
        assert await page.get_by_role("alert").count() == 0, await page.get_by_role("alert").all_inner_texts()
