"""The player page in a real browser (Debian's Chromium through Playwright): it plays a
GB/T 28181-style channel (PS over RTP) and an RTSP channel through MSE -- the video's clock
advances and a drawn frame is not blank -- shows errors in words, and takes snapshots.
No request leaves 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from tests.support.browser import ARGS, CHROMIUM
from tests.support.live_app import GB_H264, GB_H265, GB_SILENT, RTSP_CH, Live, start_live
from tests.support.rtsp import gstreamer_missing, rtsp_camera

SNAPSHOT_SHOWN = """(() => {
  const image = document.querySelector("#snapshot");
  return image.complete && image.naturalWidth > 0;
})()"""
FRAME_STATS = """() => {
  const video = document.querySelector('video');
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth; canvas.height = video.videoHeight;
  const g = canvas.getContext('2d');
  g.drawImage(video, 0, 0);
  const d = g.getImageData(0, 0, canvas.width, canvas.height).data;
  let sum = 0, sum2 = 0, n = 0;
  for (let i = 0; i < d.length; i += 32) {
    const y = (d[i] + d[i + 1] + d[i + 2]) / 3; sum += y; sum2 += y * y; n++;
  }
  const mean = sum / n;
  return { width: canvas.width, height: canvas.height, variance: sum2 / n - mean * mean };
}"""


@pytest.fixture
async def browser():  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found: apt-get install chromium")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install playwright; no browser download)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def live_with_rtsp(tmp_path: Path) -> AsyncIterator[tuple[Live, bool]]:
    if gstreamer_missing():
        async for live in start_live(tmp_path):
            yield live, False
        return
    with rtsp_camera("h264", user="admin", password="s3cret:/@") as url:
        async for live in start_live(tmp_path, url):
            yield live, True


async def open_player(browser, live: Live, channel: str):  # type: ignore[no-untyped-def]
    page = await browser.new_page()
    outside: list[str] = []

    async def guard(route):  # type: ignore[no-untyped-def]
        host = urlsplit(route.request.url).hostname or ""
        if host.startswith("127.") or route.request.url.startswith(("blob:", "data:")):
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    await page.route("**/*", guard)
    token = live.headers["Authorization"].removeprefix("Bearer ")
    await page.goto(f"{live.base}/player?channel={channel}#access_token={token}")
    return page, outside


async def wait_for(page, expression: str, timeout: float) -> None:  # type: ignore[no-untyped-def]
    """Poll ``expression`` in the page. (Playwright's wait_for_function evaluates strings with
    eval, which the player's Content-Security-Policy rightly forbids.)"""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await page.evaluate(expression):
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {expression}"
        await asyncio.sleep(0.1)


async def assert_plays(page, width: int, height: int) -> None:  # type: ignore[no-untyped-def]
    await wait_for(page, "document.querySelector('video').currentTime > 0.5", 30)
    start = await page.evaluate("document.querySelector('video').currentTime")
    await page.wait_for_timeout(1500)
    later = await page.evaluate("document.querySelector('video').currentTime")
    assert later > start + 0.5, f"the video clock does not advance: {start} -> {later}"
    stats = await page.evaluate(FRAME_STATS)
    assert (stats["width"], stats["height"]) == (width, height)
    assert stats["variance"] > 100, f"the drawn frame is blank: {stats}"


@pytest.mark.slow
async def test_player_plays_gb_and_rtsp_channels(browser, live_with_rtsp) -> None:  # type: ignore[no-untyped-def]
    live, has_rtsp = live_with_rtsp
    channels = [GB_H264, GB_H265] + ([RTSP_CH] if has_rtsp else [])
    for channel in channels:
        page, outside = await open_player(browser, live, channel)
        await assert_plays(page, 640, 360)
        state = await page.evaluate("window.xueliangPlayer")
        assert state["state"] == "playing" and state["codec"].startswith("avc1.")
        await page.click("#snap")
        await wait_for(page, SNAPSHOT_SHOWN, 15)
        assert await page.evaluate("document.getElementById('snapshot').naturalWidth") == 640
        assert not outside, f"requests left the machine: {outside}"
        await page.close()
    if not has_rtsp:
        pytest.skip(f"RTSP part skipped: {gstreamer_missing()}")


async def test_player_shows_errors_in_words(browser, live_with_rtsp) -> None:  # type: ignore[no-untyped-def]
    live, _ = live_with_rtsp
    page, _ = await open_player(browser, live, GB_SILENT)
    await wait_for(page, "document.getElementById('status').className === 'error'", 20)
    assert "no media within" in await page.inner_text("#status")
    await page.goto(f"{live.base}/player?channel=34020000001320009999")
    await wait_for(page, "document.getElementById('status').className === 'error'", 20)
    text = await page.inner_text("#status")
    assert "not found" in text and "404" in text
    await page.close()
