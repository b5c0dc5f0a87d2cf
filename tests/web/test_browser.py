"""The web UI end to end in headless Chromium: a login; the map clusters a simulated city and
a click plays live video; the dashboard shows what the API says; the channel detail shows history and
findings; reports and exports download; errors read as words; keyboard and screen sizes."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from tests.support.auth import ADMIN, PASSWORD
from tests.web.conftest import SCREENSHOTS, Tab, WebCity, sign_in

pytestmark = pytest.mark.slow

# Predicates are functions, not strings: the app's Content-Security-Policy forbids eval.
MAP_READY = "() => window.xueliangMap && window.xueliangMap.renderedAt > 0"
UPDATED = "() => document.querySelector('[data-testid=updated]')?.innerText.includes(':')"
PLAYING = """(selector) => {
  const video = document.querySelector(selector);
  return video && video.currentTime > 0.5;
}"""


async def screenshot(tab: Tab, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await tab.page.screenshot(path=str(SCREENSHOTS / name))


async def open_app(tab: Tab, web_city: WebCity, path: str) -> None:
    await tab.page.goto(web_city.base + path)


async def assert_video_advances(tab: Tab, selector: str) -> None:
    page = tab.page
    await page.wait_for_function(PLAYING, arg=selector, timeout=40_000)
    start = await page.evaluate("(s) => document.querySelector(s).currentTime", selector)
    await page.wait_for_timeout(1500)
    later = await page.evaluate("(s) => document.querySelector(s).currentTime", selector)
    assert later > start + 0.5, f"the video clock does not advance: {start} -> {later}"


async def test_login_in_words_then_in(anonymous_tab: Tab, web_city: WebCity) -> None:
    page = anonymous_tab.page
    await page.goto(web_city.base + "/dashboard")
    await page.wait_for_url(re.compile(r"/login\?next=/dashboard$"))  # no token: the login page
    await page.fill("#login-username", ADMIN)
    await page.fill("#login-password", "not-the-password")
    await page.keyboard.press("Enter")
    error = page.locator("[data-testid=login-error]")
    await error.wait_for()
    assert (await error.inner_text()).startswith("登录失败：")
    await page.fill("#login-password", PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/dashboard$"))  # back where the user was going
    assert await page.inner_text("[data-testid=user]") == ADMIN
    stored = "() => JSON.parse(localStorage.getItem('xueliang.tokens'))"
    first = await page.evaluate(stored)
    await page.evaluate(  # an access token the platform refuses, with a good refresh token
        "(t) => localStorage.setItem('xueliang.tokens', JSON.stringify({...t, access_token: 'x'}))", first
    )
    await page.goto(web_city.base + "/channels")
    await page.locator("[data-testid=channel-table] tbody tr").first.wait_for()  # refreshed, not sent away
    second = await page.evaluate(stored)
    assert second["access_token"] not in ("x", first["access_token"])
    assert second["refresh_token"] != first["refresh_token"]  # it rotates
    await page.evaluate(
        "(t) => localStorage.setItem('xueliang.tokens', JSON.stringify({...t, access_token: 'x'}))", first
    )  # refused again, and the old refresh token is spent: back to the login page
    await page.goto(web_city.base + "/channels")
    await page.wait_for_url(re.compile(r"/login\?next="))
    await page.get_by_role("button", name="登录").wait_for()
    await sign_in(page, web_city.base)
    await page.get_by_role("button", name="退出登录").click()
    await page.wait_for_url(re.compile(r"/login$"))
    assert await page.evaluate("localStorage.getItem('xueliang.tokens')") is None


async def test_map_clusters_the_city_and_a_click_plays_live_video(tab: Tab, web_city: WebCity) -> None:
    page = tab.page
    await open_app(tab, web_city, "/")
    await page.wait_for_function(MAP_READY, timeout=30_000)
    probe = await page.evaluate("window.xueliangMap")
    api = web_city.get("/map/points")
    assert probe["points"] == len(api["points"]) > 0
    assert probe["clusters"] > 0 and probe["shown"] == probe["points"], probe  # the whole city is in view
    markers = await page.locator(".cluster-marker").evaluate_all("els => els.map(e => +e.dataset.count)")
    assert len(markers) == probe["clusters"] and all(n >= 2 for n in markers)
    excluded = api["excluded"]["missing"] + api["excluded"]["invalid"]
    assert f"{excluded} 个点位未上图" in await page.inner_text("[data-testid=excluded]")
    online = sum(1 for p in api["points"] if api["states"][p[3]] == "online")
    assert await page.inner_text("[data-testid=count-online]") == f"在线 {online}"
    assert await page.locator(".region-label").count() == 8  # the offline base: district outlines
    await screenshot(tab, "map.png")

    # search by ID: the map centres on the channel; then a click on the point opens its panel
    await page.fill("#map-search", web_city.live)
    await page.get_by_text(f"· {web_city.live}").click()
    panel = page.locator("[data-testid=channel-panel]")
    await panel.wait_for()
    await page.keyboard.press("Escape")
    await panel.wait_for(state="detached")
    await page.wait_for_function("() => window.xueliangMap.zoom >= 18 && window.xueliangMap.singles > 0")
    box = await page.locator("[data-testid=map]").bounding_box()
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await page.mouse.move(*centre)  # the point under the pointer shows its ID
    await page.locator(".leaflet-tooltip", has_text=web_city.live).wait_for()
    await page.mouse.click(*centre)
    await panel.wait_for()
    assert web_city.live in await panel.inner_text()
    await assert_video_advances(tab, "[data-testid=channel-panel] video")
    assert await panel.locator(".live").get_attribute("data-state") == "playing"

    await page.click("[data-testid=snapshot]")
    image = page.locator("[data-testid=snapshot-image]")
    await image.wait_for(timeout=20_000)
    assert await image.evaluate("img => img.decode().then(() => img.naturalWidth)") > 0

    up = panel.locator("[data-action=up]")
    await up.dispatch_event("pointerdown")
    await up.dispatch_event("pointerup")
    await page.wait_for_timeout(500)
    assert await panel.get_by_role("alert").count() == 0, await panel.inner_text()
    await screenshot(tab, "live.png")


async def test_dashboard_numbers_equal_the_api(tab: Tab, web_city: WebCity) -> None:
    page = tab.page
    async with page.expect_response(re.compile(r"/api/v1/stats/summary$")) as answer:
        await open_app(tab, web_city, "/dashboard")
    summary = await (await answer.value).json()
    await page.wait_for_function(UPDATED, timeout=20_000)
    assert summary["channels"] == web_city.get("/stats/summary")["channels"] == 204
    value = page.locator("[data-testid=kpi-channels] .value")
    assert await value.inner_text() == f"{summary['channels']:,}"
    assert await page.inner_text("[data-testid=kpi-online]") == f"在线 {summary['online']:,}"
    for key in (
        "online_rate",
        "integrity_rate",
        "output_rate",
        "annotation_rate",
        "hd_rate",
        "coverage_rate",
    ):  # noqa: E501
        text = await page.inner_text(f"[data-testid=kpi-{key}] .value")
        rate = summary[key]
        if rate is None:
            assert text == "—", key
        else:  # two decimals of a percentage
            assert abs(float(text.rstrip("%")) - rate * 100) <= 0.005 + 1e-9, (key, text, rate)
    orders = web_city.get("/workorders", status="active", page_size=1)["total"]
    assert await page.inner_text("[data-testid=open-orders-total]") == f"{orders:,}"
    faults = page.locator("[data-testid=recent-faults] img")
    await faults.first.wait_for(timeout=15_000)
    assert await faults.first.evaluate("img => img.decode().then(() => img.naturalWidth)") > 0
    await page.wait_for_timeout(800)  # charts finish their entry animation
    await screenshot(tab, "dashboard.png")


async def test_channel_detail_shows_history_findings_and_orders(tab: Tab, web_city: WebCity) -> None:
    page = tab.page
    await open_app(tab, web_city, f"/channels/{web_city.faulty}")
    await page.locator("[data-testid=timeline-online] .span").first.wait_for(timeout=20_000)
    history = web_city.get(f"/channels/{web_city.faulty}/availability", kind="integrity")["items"]
    assert history, "the seeded city has integrity history"
    bad = page.locator("[data-testid=timeline-integrity] .bad")
    assert await bad.count() >= 1  # the defect the simulator shows, and inspection confirmed
    thumbnails = page.locator("[data-testid=findings] img")
    await thumbnails.first.wait_for(timeout=15_000)
    assert await thumbnails.first.evaluate("img => img.decode().then(() => img.naturalWidth)") == 320
    await assert_video_advances(tab, ".live video")
    await screenshot(tab, "channel.png")


async def test_reports_and_exports_download(tab: Tab, web_city: WebCity) -> None:
    page = tab.page
    await open_app(tab, web_city, "/reports")
    await page.get_by_text("Excel", exact=True).click()
    async with page.expect_download(timeout=60_000) as download_info:
        await page.click("[data-testid=generate-report]")
    download = await download_info.value
    assert re.fullmatch(r"xueliang-daily-\d{4}-\d{2}-\d{2}\.xlsx", download.suggested_filename)
    book = load_workbook(io.BytesIO((await download.path()).read_bytes()))
    assert book.sheetnames
    await page.locator("[data-testid=downloaded]").wait_for()

    await open_app(tab, web_city, "/channels")
    await page.locator("[data-testid=channel-table] tbody tr").first.wait_for()
    async with page.expect_download() as download_info:
        await page.click("[data-testid=export-csv]")
    download = await download_info.value
    assert download.suggested_filename == "xueliang-channels.csv"
    lines = (await download.path()).read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("gb_id,name,civil_code") and len(lines) == 205


async def test_errors_read_as_words_in_both_languages(tab: Tab, web_city: WebCity) -> None:
    page = tab.page
    unknown = "34020200001329999999"
    await open_app(tab, web_city, f"/channels/{unknown}")
    alert = page.get_by_role("alert")
    await alert.wait_for()
    assert await alert.inner_text() == f"点位 {unknown} 不存在"
    await page.locator(".language").first.click()
    await page.get_by_text("English", exact=True).click()
    await page.reload()
    await page.get_by_role("alert").wait_for()
    assert await page.get_by_role("alert").inner_text() == f"Channel {unknown} not found"
    assert await page.evaluate("document.documentElement.lang") == "en"


async def test_keyboard_reaches_the_pages(tab: Tab, web_city: WebCity) -> None:
    page = tab.page
    await open_app(tab, web_city, "/channels")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.className") == "skip-link"
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")  # the second navigation link: the dashboard
    await page.wait_for_url(re.compile(r"/dashboard$"))
    await page.locator("[data-testid=kpi-channels] .value").wait_for()


@pytest.mark.parametrize(("width", "height", "root"), [(1366, 768, 14), (3840, 2160, 26)])
async def test_readable_on_a_laptop_and_a_wall_display(  # type: ignore[no-untyped-def]
    tab: Tab, web_city: WebCity, width, height, root
) -> None:
    page = tab.page
    await page.set_viewport_size({"width": width, "height": height})
    await open_app(tab, web_city, "/dashboard")
    await page.wait_for_function(UPDATED, timeout=20_000)
    sizes = await page.evaluate(
        """() => ({
          root: parseFloat(getComputedStyle(document.documentElement).fontSize),
          kpi: parseFloat(
            getComputedStyle(document.querySelector('[data-testid=kpi-online_rate] .value')).fontSize),
          overflow: document.documentElement.scrollWidth - window.innerWidth,
        })"""
    )
    assert sizes["root"] == root and sizes["kpi"] >= 1.9 * root - 0.5
    assert sizes["overflow"] <= 0, f"the page scrolls sideways at {width}×{height}"


async def test_work_order_assigned_from_its_page(tab: Tab, web_city: WebCity) -> None:
    page = tab.page
    order = web_city.get("/workorders", status="open", page_size=1)["items"][0]
    await open_app(tab, web_city, f"/workorders?open={order['id']}")
    drawer = page.locator(".n-drawer")
    await drawer.get_by_text(f"#{order['id']}").first.wait_for()
    await drawer.get_by_role("textbox", name="处理人").fill("维修一班")
    await drawer.get_by_role("button", name="派单").click()
    await drawer.get_by_text("维修一班").last.wait_for()
    stored = web_city.get(f"/workorders/{order['id']}")
    assert stored["status"] == "assigned" and stored["assignee"] == "维修一班"
    assert stored["events"][-1]["actor"] == ADMIN  # the signed-in user, not a default name
