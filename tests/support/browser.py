"""A real browser for the pages' tests: Debian's headless Chromium (``/usr/bin/chromium``) driven
by Selenium through Debian's ``/usr/bin/chromedriver`` — never a driver or browser Selenium
Manager would download (``SE_OFFLINE``; both executables named). A missing browser FAILS the
test that asks for one (``apt-get install chromium chromium-driver``): it is never skipped.

Selenium is blocking and the servers under test run in the test's event loop, so every call
goes through a thread (``await browser.get(...)``). Screenshots go to ``.data/browser/``.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from tongxin_web.session import COOKIE

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("TONGXIN_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("TONGXIN_CHROMEDRIVER", "/usr/bin/chromedriver"))
SCREENSHOTS = ROOT / ".data" / "browser"
T = TypeVar("T")


def chromium() -> WebDriver:
    """Headless Chromium, or an AssertionError naming what is missing."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        assert path.exists(), f"{path} is missing: apt-get install {package} (never skipped)"
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager downloads nothing
    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--lang=zh-CN",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the console, for errors
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    return webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))


class Browser:
    """One browser window, its calls made in a thread."""

    def __init__(self, driver: WebDriver, base_url: str) -> None:
        self.driver = driver
        self.base_url = base_url.rstrip("/")

    async def call(self, f: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(f, *args)

    async def get(self, path: str) -> None:
        await self.call(self.driver.get, self.base_url + path)

    async def path(self) -> str:
        url: str = await self.call(lambda: self.driver.current_url)
        return url.removeprefix(self.base_url)

    async def js(self, script: str, *args: Any) -> Any:
        return await self.call(self.driver.execute_script, script, *args)

    async def one(self, css: str) -> WebElement:
        return await self.call(self.driver.find_element, By.CSS_SELECTOR, css)

    async def all(self, css: str) -> list[WebElement]:
        return await self.call(self.driver.find_elements, By.CSS_SELECTOR, css)

    async def text(self, css: str) -> str:
        element = await self.one(css)
        return await self.call(lambda: element.text)

    async def attribute(self, css: str, name: str) -> str | None:
        element = await self.one(css)
        return await self.call(element.get_attribute, name)

    async def value_of(self, css: str) -> Any:
        """The JSON value a figure or cell carries (``data-value``)."""
        raw = await self.attribute(css, "data-value")
        return json.loads(raw) if raw is not None else None

    async def click(self, css: str) -> None:
        element = await self.one(css)
        await self.call(element.click)

    async def until(self, check: Callable[[], Any], *, timeout: float, what: str) -> Any:
        """Poll ``check`` (async) until it answers truthy, or fail naming ``what``."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            last = await check()
            if last:
                return last
            await asyncio.sleep(0.2)
        raise AssertionError(f"{what}: not within {timeout} s (last: {last!r})")

    async def loaded(self) -> None:
        await self.until(
            lambda: self.js("return document.readyState === 'complete'"),
            timeout=30,
            what="the page loaded",
        )

    async def console_errors(self) -> list[str]:
        """What the page logged as errors since the last call (a script's failure, a
        Content-Security-Policy violation, a missing file)."""
        entries: list[dict[str, Any]] = await self.call(self.driver.get_log, "browser")
        return [e["message"] for e in entries if e.get("level") == "SEVERE"]

    async def screenshot(self, name: str) -> Path:
        """The whole page (the window stretched to its height, at most 8000 px) as
        ``.data/browser/<name>.png``."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        height = await self.js("return document.documentElement.scrollHeight")
        await self.call(self.driver.set_window_size, 1400, min(max(int(height), 1000), 8000))
        try:
            await self.call(self.driver.save_screenshot, str(path))
        finally:
            await self.call(self.driver.set_window_size, 1400, 1000)
        return path


@asynccontextmanager
async def browser(base_url: str) -> AsyncIterator[Browser]:
    driver = await asyncio.to_thread(chromium)
    try:
        yield Browser(driver, base_url)
    finally:
        await asyncio.to_thread(driver.quit)


async def demo_session(b: Browser, role: str) -> dict[str, str]:
    """Open ``/demo/<role>`` and land on the role's page; the session's bearer header (its
    cookie: HttpOnly, SameSite=Strict)."""
    await b.get(f"/demo/{role}")
    await b.loaded()
    problem = await b.js("return document.querySelector('[data-status]')?.innerText || ''")
    assert not problem, f"/demo/{role}: {problem}"
    assert (await b.path()).startswith("/pages/"), await b.path()
    cookie = await b.call(b.driver.get_cookie, COOKIE)
    assert cookie is not None
    assert cookie["httpOnly"]
    assert cookie.get("sameSite") == "Strict"
    return {"Authorization": f"Bearer {cookie['value']}"}
