"""The Feeds page's layout in a real browser (Debian's headless Chromium through Selenium), with the
feed list we ship and with 500 feeds, in light and dark mode, at a laptop, a wide and a phone width.

The demo's five short loopback URLs hid that long Google News search URLs widened the Feed column until
every other column was one word wide. Here the store holds the shipped ``config/feeds.yaml``, every
feed failing as it does offline (a DNS error naming its URL), and a 500-feed list with long URLs,
right-to-left names and long errors. The page is served by the view's own app under uvicorn on
loopback, authenticated with an Airflow JWT as the api-server would; the assertions are geometric:
the page never scrolls sideways, the table fits the window, no cell's content spills out of its cell,
no column is narrower than its header, and rows stay a readable height.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from conftest import REPO
from test_ui_api import FakeAirflow, auth_manager, token  # noqa: F401 - fixtures used by name
from test_ui_browser import CHROMEDRIVER, SCREENSHOTS, chromium  # noqa: F401 - fixture used by name

sys.path.append(str(REPO / "plugins"))
from aiwatch_ui.app import Deps, create_app  # noqa: E402

pytestmark = pytest.mark.airflow

#: What a cell may overflow by (sub-pixel rounding), and the tallest readable row at 1280 px.
SLACK_PX = 2
MAX_ROW_PX = 140

LAYOUT_PROBE = """
const doc = document.documentElement, table = document.getElementById('feeds');
const cells = [...table.querySelectorAll('th, td')];
const spilled = cells.filter(c => c.scrollWidth > c.clientWidth + %(slack)d)
                     .map(c => [c.closest('tr').dataset.feed || 'header', c.cellIndex, c.scrollWidth, c.clientWidth]);
const headers = [...table.querySelectorAll('thead th')].map(th => {
  const probe = document.createElement('span');
  probe.textContent = th.textContent.trim().split(/\\s+/).sort((a, b) => b.length - a.length)[0];
  probe.style.cssText = 'position:absolute;visibility:hidden;white-space:nowrap;font:' + getComputedStyle(th).font;
  document.body.appendChild(probe);
  const needed = probe.getBoundingClientRect().width;
  probe.remove();
  const style = getComputedStyle(th);
  const inner = th.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return [th.textContent.trim(), inner, needed];
});
const rows = [...table.querySelectorAll('tbody tr')].map(r => r.getBoundingClientRect().height);
const scroller = table.closest('.table-scroll');
return {page_width: doc.scrollWidth, window_width: doc.clientWidth,
        table_right: table.getBoundingClientRect().right, region_width: scroller ? scroller.clientWidth : null,
        table_width: table.getBoundingClientRect().width, spilled: spilled, headers: headers,
        tallest_row: Math.max(...rows), rows: rows.length,
        background: getComputedStyle(document.body).backgroundColor, text: getComputedStyle(document.body).color};
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fill(url: str, feeds, failing: set[str], now: datetime) -> None:
    from aiwatch.feeds import PollResult
    from aiwatch.fetcher import FetchError
    from aiwatch.store import Store, repo, upgrade

    store = Store(url)
    upgrade(store)
    repo.sync_feeds(store, feeds)
    for i, feed in enumerate(feeds):
        if feed.name in failing:  # as the shipped list fails offline: the error names the feed's URL
            error = str(FetchError("dns", feed.url, "[Errno -3] Temporary failure in name resolution"))
            result = PollResult(feed.name, "failed", reason="dns", error=error)
        else:
            result = PollResult(feed.name, "ok", http_status=200, title=f"{feed.name} — actualités")
        repo.record_poll(store, f"scheduled__{i}", feed, result, None, backoff_base_s=300, backoff_cap_s=3600,
                         now=now - timedelta(minutes=i % 90))


def _many_feeds(count: int):
    from aiwatch.config import Feed

    names = ["hespress", "الصباح-الرقمي", "le-matin-economie", "agencia-efe-marruecos", "tech-wire"]
    feeds = []
    for i in range(count):
        query = "+".join(["intelligence+artificielle", "Maroc", "partenariat", "accord", f"n{i}"] * 3)
        url = (f"https://news.google.com/rss/search?q={query}&hl=fr&gl=MA&ceid=MA:fr" if i % 3 == 0
               else f"https://outlet-{i}.example.ma/{'rubrique/' * (i % 7)}feed.xml?utm_source=aiwatch&id={i}")
        feeds.append(Feed(f"{names[i % len(names)]}-{i}", url, ["fr", "ar", "en", "es"][i % 4]))
    return feeds


@pytest.fixture(scope="module")
def served(tmp_path_factory, auth_manager, token):  # noqa: F811 - pytest fixtures
    """Two stores (the shipped feeds; 500 feeds) behind the view's app, served by uvicorn on loopback."""
    import uvicorn
    from aiwatch.config import Settings, load_feeds
    from fastapi import FastAPI

    tmp = tmp_path_factory.mktemp("ui-layout")
    now = datetime.now(UTC)
    shipped = load_feeds(REPO / "config" / "feeds.yaml")
    many = _many_feeds(500)
    stores = {"shipped": f"sqlite:///{tmp / 'shipped.db'}", "many": f"sqlite:///{tmp / 'many.db'}"}
    _fill(stores["shipped"], shipped, {f.name for f in shipped}, now)
    _fill(stores["many"], many, {f.name for i, f in enumerate(many) if i % 4 == 0}, now)
    root = FastAPI()
    for name, url in stores.items():
        settings = Settings.from_env().with_(db_url=url)
        root.mount(f"/{name}/aiwatch", create_app(Deps(settings=lambda s=settings: s, airflow=FakeAirflow({}),
                                                       now=lambda: now)))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(root, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield {"base": f"http://127.0.0.1:{port}", "token": token, "shipped": len(shipped)}
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def layout_browser(chromium, tmp_path_factory):  # noqa: F811 - pytest fixture
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-dev-shm-usage", f"--user-data-dir={tmp_path_factory.mktemp('chromium-layout')}",
                 "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _open(driver, served: dict, store: str, width: int, scheme: str) -> dict:
    driver.set_window_size(width, 900)
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia",
                           {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
    driver.get(f"{served['base']}/{store}/aiwatch/static/ui.css")  # a same-origin page to set the cookie on
    driver.add_cookie({"name": "_token", "value": served["token"], "path": "/"})
    driver.get(f"{served['base']}/{store}/aiwatch/feeds")
    return driver.execute_script(LAYOUT_PROBE % {"slack": SLACK_PX})


def _assert_readable(found: dict, *, width: int) -> None:
    assert found["page_width"] <= found["window_width"], f"the page scrolls sideways at {width}px: {found}"
    assert found["spilled"] == [], f"content spills out of its cell (feed, column, needed, has): {found['spilled']}"
    narrow = [(name, inner, needed) for name, inner, needed in found["headers"] if inner + SLACK_PX < needed]
    assert narrow == [], f"columns narrower than their header's longest word: {narrow}"


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("store", ["shipped", "many"])
def test_the_feeds_table_fits_and_stays_readable(served, layout_browser, store, scheme):
    for width in (1280, 1920):
        found = _open(layout_browser, served, store, width, scheme)
        _assert_readable(found, width=width)
        assert found["table_right"] <= found["window_width"] + SLACK_PX, found
        assert found["tallest_row"] <= MAX_ROW_PX, f"a row {found['tallest_row']}px tall at {width}px"
        if store == "shipped":
            assert found["rows"] == served["shipped"]
    if scheme == "dark":
        assert found["background"] not in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)"), found["background"]
    else:
        assert found["background"] == "rgb(255, 255, 255)"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    layout_browser.set_window_size(1280, 900)
    layout_browser.save_screenshot(str(SCREENSHOTS / f"feeds-{store}-{scheme}.png"))
    if store == "shipped" and scheme == "light" and os.environ.get("UPDATE_SCREENSHOTS"):
        # The README's Feeds screenshot: the feed list we ship, as it looks offline (every feed failing).
        shutil.copy2(SCREENSHOTS / "feeds-shipped-light.png", REPO / "docs" / "screenshots" / "feeds.png")


def test_on_a_phone_only_the_table_scrolls_sideways(served, layout_browser):
    found = _open(layout_browser, served, "shipped", 390, "light")
    assert found["page_width"] <= found["window_width"], found
    assert found["region_width"] is not None and found["region_width"] <= found["window_width"]
    assert found["spilled"] == []


def test_a_long_url_is_all_in_the_page_and_shown_whole_on_focus(served, layout_browser):
    from selenium.webdriver.common.by import By

    _open(layout_browser, served, "shipped", 1280, "light")
    urls = layout_browser.find_elements(By.CSS_SELECTOR, "#feeds .url")
    longest = max(urls, key=lambda u: len(u.get_attribute("textContent")))
    text = longest.get_attribute("textContent")
    assert text.startswith("https://news.google.com/rss/search?q=") and len(text) > 100
    clamped = longest.size["height"]
    layout_browser.execute_script("arguments[0].focus()", longest)
    assert longest.size["height"] > clamped
