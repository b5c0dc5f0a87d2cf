"""Browser tests of the web UI: Debian's Chromium through Playwright against a real
``xueliang serve`` holding a small simulated city whose ``xueliang sim`` fleet is online.
No request leaves 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from tests.support.auth import ADMIN, PASSWORD
from tests.support.browser import ARGS, CHROMIUM
from tests.support.web_city import City, simulated_city

from xueliang.api.webapp import WEB_DIR
from xueliang.demo.city import city_channels
from xueliang.demo.run import truth

CHANNELS = 200
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass
class WebCity:
    city: City
    live: str  # a channel of an online NVR with a normal picture and PTZ (a dome camera)
    faulty: str  # an online channel whose picture has a defect, inspected

    @property
    def base(self) -> str:
        return self.city.base

    def get(self, path: str, **params: object) -> object:
        return self.city.platform.get(path, **params)


def pick_channels() -> tuple[str, list[str]]:
    live, faulty = None, []
    for channel in city_channels(CHANNELS):
        offline, fault = truth(channel.gb_id, channel.device_gb_id)
        if offline or channel.longitude is None:
            continue
        if fault is None and channel.ptz_type == 1 and live is None:
            live = channel.gb_id
        elif fault in ("blur", "too_dark", "occlusion", "color_cast") and len(faulty) < 2:
            faulty.append(channel.gb_id)
    assert live and faulty, "the city plan has no dome camera or no defective one"
    return live, faulty


@pytest.fixture(scope="module")
def web_city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebCity]:
    if not (WEB_DIR / "index.html").is_file():
        pytest.skip(f"the web UI is not built in {WEB_DIR}: run `make web`")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found: apt-get install chromium")
    live, faulty = pick_channels()
    with simulated_city(tmp_path_factory.mktemp("web"), CHANNELS) as city:
        for gb_id in (live, *faulty):  # findings with evidence pictures for the dashboard and detail
            response = httpx.post(
                f"{city.platform.api}/channels/{gb_id}/inspect", headers=city.platform.headers, timeout=90
            )
            assert response.status_code == 200, response.text
        yield WebCity(city, live, faulty[0])


@pytest.fixture
async def browser():  # type: ignore[no-untyped-def]
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


@dataclass
class Tab:
    page: object
    outside: list[str]
    errors: list[str]


async def sign_in(page, base: str, name: str = ADMIN, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    """Log in through the login page, as an operator does; the app then shows the map."""
    await page.goto(f"{base}/login")
    await page.fill("#login-username", name)
    await page.fill("#login-password", password)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base}/")


@pytest.fixture
async def anonymous_tab(browser, web_city: WebCity) -> AsyncIterator[Tab]:  # type: ignore[no-untyped-def]
    """A page at 1366×768 that may only talk to 127.0.0.1 (others are recorded and refused);
    script errors and Content-Security-Policy refusals fail the test."""
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True)
    page = await context.new_page()
    outside: list[str] = []
    errors: list[str] = []

    async def guard(route):  # type: ignore[no-untyped-def]
        url = route.request.url
        if (urlsplit(url).hostname or "").startswith("127.") or url.startswith(("blob:", "data:")):
            await route.continue_()
        else:
            outside.append(url)
            await route.abort()

    await page.route("**/*", guard)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: errors.append(message.text) if "Content Security Policy" in message.text else None,
    )
    yield Tab(page, outside, errors)
    await context.close()
    assert not outside, f"requests left the machine: {outside}"
    assert not errors, f"script errors: {errors}"


@pytest.fixture
async def tab(anonymous_tab: Tab, web_city: WebCity) -> Tab:
    """A page logged in as the platform's administrator."""
    await sign_in(anonymous_tab.page, web_city.base)
    return anonymous_tab
