"""The operator's view in a real browser: Debian's headless Chromium, driven by Selenium through
Debian's chromedriver, against a real Airflow api-server on loopback in a fresh AIRFLOW_HOME.

The store is filled by a real ``airflow dags test morocco_ai_watch`` run (demo news web, a failing
feed, a feed with a hostile headline; Slack stand-in refusing the first post), so the failing feed's
link leads to a real mapped poll_feed task instance. Screenshots go to var/screenshots/.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from aiwatch.devserver import Route
from conftest import REPO
from test_dag import slack_connection, stop_processes_of_home
from test_ui_api import HOSTILE_FEED, HOSTILE_PAGE, HOSTILE_TITLE

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
SCREENSHOTS = REPO / "var" / "screenshots"
pytestmark = pytest.mark.airflow


def refusing_first_alert():
    """The Slack stand-in refusing the first post to the alerts channel (task-failure notices to the ops
    channel go through, whatever their order)."""
    from slack_standin import SlackStandIn

    class Refusing(SlackStandIn):
        refused = False

        def _record_call(self, method, params):  # type: ignore[no-untyped-def]
            fault = super()._record_call(method, params)
            if (fault is None and method == "chat.postMessage" and not self.refused
                    and str(params.get("channel", "")).lstrip("#") == "morocco-ai-watch"):
                self.refused = True
                return "msg_too_long"
            return fault

    return Refusing(token="xoxb-test")


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's chromium and chromedriver, installed with apt when missing (never a browser download)."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        steps = [["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"]]
        for step in steps:
            try:
                done = subprocess.run(step, env=env, capture_output=True, text=True, timeout=900)
            except (OSError, subprocess.TimeoutExpired) as exc:
                done = subprocess.CompletedProcess(step, 1, "", str(exc))
            if done.returncode != 0:
                message = f"could not install chromium with `{' '.join(step)}`: {done.stderr[-500:]}"
                if os.environ.get("CI"):
                    pytest.fail(message)
                pytest.skip(message)
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(base: str, log: Path, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{base}/api/v2/monitor/health", timeout=2).status == 200:
                return
        except OSError:
            time.sleep(1)
    pytest.fail("api-server never became healthy:\n" + log.read_text()[-3000:])


def _request(url: str, *, token: str | None = None, data: dict | None = None) -> tuple[int, bytes, dict]:
    headers = {"Content-Type": "application/json"} if data is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(data).encode() if data is not None else None,
                                     headers=headers, method="POST" if data is not None else "GET")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=15) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


@pytest.fixture(scope="module")
def airflow_ui(tmp_path_factory, model_registry, chromium):
    """A filled store, a real DAG run in a fresh Airflow home, and its api-server on a free port."""
    from aiwatch.devserver import DevServer
    from conftest import DEMO_SITE

    tmp = tmp_path_factory.mktemp("ui-browser")
    home = tmp / "airflow-home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "WATCH_"))}
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
               AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin", WATCH_MODEL_DIR=str(model_registry),
               WATCH_DB_URL=f"sqlite:///{tmp / 'watch.db'}", WATCH_ALLOW_PRIVATE_NETWORKS="1",
               WATCH_DATA_DIR=str(tmp), WATCH_RETRAIN_MIN_LABELS="1", PATH="/usr/bin:/bin")
    with DevServer(DEMO_SITE) as web, refusing_first_alert() as slack:
        web.add("/broken/feed.xml", Route(status=500, body=b"down"))
        web.add("/hostile/feed.xml", Route(body=HOSTILE_FEED.format(base=web.base_url).encode(),
                                           content_type="application/rss+xml"))
        web.add("/hostile/mistral.html", Route(body=HOSTILE_PAGE.encode()))
        feeds = [{"name": n, "url": web.url(f"/{n}/feed.xml"), "lang": lang}
                 for n, lang in [("atlas-tech", "fr"), ("maghreb-wire", "en"), ("akhbar-raqmiya", "ar")]]
        feeds += [{"name": "broken", "url": web.url("/broken/feed.xml")},
                  {"name": "hostile", "url": web.url("/hostile/feed.xml"), "lang": "en"}]
        (tmp / "feeds.yaml").write_text(yaml.safe_dump({"feeds": feeds}), encoding="utf-8")
        env["WATCH_FEEDS_FILE"] = str(tmp / "feeds.yaml")
        for command in (["db", "migrate"], ["dags", "reserialize"]):
            done = subprocess.run([AIRFLOW, *command], env=env, cwd=tmp, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        run = subprocess.run([AIRFLOW, "dags", "test", "morocco_ai_watch"], cwd=tmp, capture_output=True, text=True,
                             env=dict(env, AIRFLOW_CONN_SLACK_API_DEFAULT=slack_connection(slack)), timeout=600)
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]

    port = _free_port()
    log_path = tmp / "api-server.log"
    log = log_path.open("w")
    server = subprocess.Popen([AIRFLOW, "api-server", "--port", str(port), "--host", "127.0.0.1"], env=env, cwd=tmp,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, log_path)
        password = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())["admin"]
        yield {"base": base, "password": password, "home": home, "log": log_path, "env": env}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        stop_processes_of_home(home)
        log.close()


@pytest.fixture(scope="module")
def browser(chromium, tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1280,860"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _shot(driver, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 5_000
    return path


def test_the_operator_view_in_the_airflow_ui(airflow_ui, browser):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    base = airflow_ui["base"]
    wait = WebDriverWait(browser, 60)

    # Without a session: the API says 401 and the page sends the browser to Airflow's login.
    status, _, _ = _request(f"{base}/aiwatch/api/feeds")
    assert status == 401
    status, _, headers = _request(f"{base}/aiwatch/feeds")
    assert status == 303 and "/auth/login" in headers["location"]
    # A bearer token from Airflow's own /auth/token works; the re-queue refuses a request without the header.
    status, body, _ = _request(f"{base}/auth/token", data={"username": "admin", "password": airflow_ui["password"]})
    token = json.loads(body)["access_token"]
    assert _request(f"{base}/aiwatch/api/feeds", token=token)[0] == 200
    assert _request(f"{base}/aiwatch/api/outbox/requeue", token=token, data={"key": "x"})[0] == 403
    # A retraining queued through Airflow's REST API (no scheduler here, so it stays queued).
    status, body, _ = _request(f"{base}/api/v2/dags/retrain_classifier/dagRuns", token=token,
                               data={"logical_date": None})
    assert status == 200, body
    retrain_run = json.loads(body)["dag_run_id"]

    # Log in through Airflow's login page, landing on our view inside the UI.
    browser.get(f"{base}/plugin/morocco-ai-watch")
    wait.until(ec.presence_of_element_located((By.NAME, "username"))).send_keys("admin")
    browser.find_element(By.NAME, "password").send_keys(airflow_ui["password"])
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda d: "/plugin/morocco-ai-watch" in d.current_url and "login" not in d.current_url)
    nav = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "a[href$='plugin/morocco-ai-watch']")))
    assert nav.is_displayed()
    frame = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "iframe[title='AI Watch']")))
    # Fits Airflow's UI: our icon in the navigation (loaded), a label shown whole, a frame that fills
    # the window beside the navigation.
    icon = nav.find_element(By.CSS_SELECTOR, "img")
    assert icon.get_attribute("src").endswith("/aiwatch/static/icon.svg")
    wait.until(lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", icon))
    cut = browser.execute_script("""
        return [...arguments[0].querySelectorAll('*')].filter(e => e.children.length === 0 && e.textContent.trim())
          .filter(e => e.scrollWidth > e.clientWidth + 1 || getComputedStyle(e).textOverflow === 'ellipsis'
                       && e.scrollWidth > e.clientWidth).map(e => e.textContent)""", nav)
    assert cut == [] and "AI Watch" in nav.text, (cut, nav.text)
    box = browser.execute_script("const r = arguments[0].getBoundingClientRect(); "
                                 "return [r.left, r.top, r.width, r.height, innerWidth, innerHeight]", frame)
    assert box[2] >= box[4] - box[0] - 24 and box[3] >= box[5] - box[1] - 24, f"the frame does not fill: {box}"
    # Airflow's own colour mode wins over the system's: dark in Airflow's UI is dark inside the frame.
    browser.switch_to.frame(frame)
    assert browser.execute_script("return document.documentElement.dataset.theme") == "light"
    browser.switch_to.default_content()
    browser.execute_script("document.documentElement.classList.remove('light');"
                           "document.documentElement.classList.add('dark')")
    browser.switch_to.frame(frame)
    wait.until(lambda d: d.execute_script("return document.documentElement.dataset.theme") == "dark")
    assert browser.execute_script("return getComputedStyle(document.body).backgroundColor") != "rgb(255, 255, 255)"
    browser.switch_to.default_content()
    browser.execute_script("document.documentElement.classList.remove('dark');"
                           "document.documentElement.classList.add('light')")
    browser.switch_to.frame(frame)
    wait.until(lambda d: d.execute_script("return document.documentElement.dataset.theme") == "light")

    # Feeds: the failing feed first, its error in words, a link to its poll_feed task log.
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#feeds tbody tr")))
    rows = browser.find_elements(By.CSS_SELECTOR, "#feeds tbody tr")
    assert [r.get_attribute("data-feed") for r in rows][0] == "broken"
    assert {r.get_attribute("data-feed") for r in rows} == {"atlas-tech", "maghreb-wire", "akhbar-raqmiya", "broken",
                                                            "hostile"}
    broken = rows[0]
    assert "failing" in broken.text and "the server answered HTTP 500 (Internal Server Error)" in broken.text
    ok_row = browser.find_element(By.CSS_SELECTOR, "tr[data-feed='maghreb-wire']")
    assert "ok" in ok_row.text and "100%" in ok_row.text
    log_link = broken.find_element(By.CSS_SELECTOR, "a.log")
    assert "/tasks/poll_feed/mapped/" in log_link.get_attribute("href")
    browser.switch_to.default_content()
    _shot(browser, "feeds")
    browser.switch_to.frame(browser.find_element(By.CSS_SELECTOR, "iframe[title='AI Watch']"))
    browser.find_element(By.CSS_SELECTOR, "a[data-sort='name']").click()
    wait.until(lambda d: "sort=name" in d.execute_script("return location.search"))
    names = [r.get_attribute("data-feed") for r in browser.find_elements(By.CSS_SELECTOR, "#feeds tbody tr")]
    assert names == sorted(names)

    # Events: parties, articles with outlet/language/score, alert states; the hostile title is text.
    browser.find_element(By.ID, "nav-events").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "section.event")))
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "Mistral AI" in page and "OpenAI" in page and "Ministry of Digital Transition" in page
    titles = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "section.event .title")]
    assert HOSTILE_TITLE in titles
    assert browser.execute_script("return document.querySelectorAll('main script').length") == 0
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - the script in the headline never ran
    assert browser.find_elements(By.CSS_SELECTOR, ".alert .state.sent")
    assert browser.find_elements(By.CSS_SELECTOR, "a[href^='https://slack.com/archives/']")
    failed = browser.find_element(By.CSS_SELECTOR, "ul.failed li")
    assert "msg_too_long" in failed.text
    key = failed.get_attribute("data-key")
    browser.execute_script("arguments[0].closest('section').scrollIntoView()", failed)
    browser.switch_to.default_content()
    _shot(browser, "events")
    browser.switch_to.frame(browser.find_element(By.CSS_SELECTOR, "iframe[title='AI Watch']"))
    browser.find_element(By.CSS_SELECTOR, "button.requeue").click()
    outcome = browser.find_element(By.CSS_SELECTOR, "ul.failed li .outcome")
    wait.until(lambda _d: outcome.text.startswith("re-queued"))
    assert "pending" in outcome.text
    status, body, _ = _request(f"{base}/aiwatch/api/events", token=token)
    states = {m["key"]: m for e in json.loads(body)["items"] for m in ([e["alert"]] if e["alert"] else [])}
    assert states[key]["state"] == "pending"

    # Model: the live version, metrics, its plots (loaded), labels, the queued retraining.
    browser.find_element(By.ID, "nav-model").click()
    wait.until(ec.presence_of_element_located((By.ID, "versions")))
    assert browser.find_element(By.ID, "live").text == "v0001"
    assert "live" in browser.find_element(By.CSS_SELECTOR, "tr[data-version='v0001']").text
    images = browser.find_elements(By.CSS_SELECTOR, "#live-evaluation .plots img")
    assert len(images) == 4   # validation and cross-validated: PR curve and confusion matrix each
    assert browser.find_element(By.CSS_SELECTOR, "#validation-figures").text.count("\n") >= 2  # all + languages
    for image in images:
        browser.execute_script("arguments[0].scrollIntoView()", image)
        wait.until(lambda d, img=image: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth",
                                                         img))
    retrain = browser.find_element(By.ID, "retrain").text
    assert retrain_run in retrain and "queued" in retrain
    browser.execute_script("window.scrollTo(0, 0)")
    browser.switch_to.default_content()
    _shot(browser, "model")

    # Review: the unsure and the alerted stories; a ✅ is a label of the logged-in user, and (one label is
    # enough here: WATCH_RETRAIN_MIN_LABELS=1) an event on the labels Asset through Airflow's own REST API.
    browser.switch_to.frame(browser.find_element(By.CSS_SELECTOR, "iframe[title='AI Watch']"))
    browser.find_element(By.ID, "nav-review").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#alerted article.story")))
    assert browser.find_elements(By.CSS_SELECTOR, "#uncertain article.story")
    alerted_titles = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "#alerted article.story .title")]
    assert HOSTILE_TITLE in alerted_titles
    assert browser.execute_script("return document.querySelectorAll('main script').length") == 0
    story = browser.find_element(By.CSS_SELECTOR, "#uncertain article.story")
    assert story.find_element(By.CSS_SELECTOR, ".why").text.strip()
    article_id = int(story.get_attribute("data-article"))
    story.find_element(By.CSS_SELECTOR, "button.label-yes").click()
    outcome = story.find_element(By.CSS_SELECTOR, ".outcome")
    wait.until(lambda _d: outcome.text and not outcome.text.startswith("recording"))
    assert outcome.text.startswith("✓ relevant: recorded for admin (new).") and "labels Asset updated (event" in outcome.text, \
        outcome.text
    assert "admin" in story.find_element(By.CSS_SELECTOR, "ul.labels").text
    for scheme in ("dark", "light"):
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia",
                                {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
        # Inside Airflow's UI the frame follows Airflow's mode, which follows the system's: it may take a moment.
        wait.until(lambda d, scheme=scheme: d.execute_script("return document.documentElement.dataset.theme") == scheme)
        sizes = browser.execute_script("const d = document.documentElement; return [d.scrollWidth, d.clientWidth,"
                                       " getComputedStyle(document.body).backgroundColor]")
        assert sizes[0] <= sizes[1], f"the Review page scrolls sideways in {scheme} mode: {sizes}"
        assert (sizes[2] == "rgb(255, 255, 255)") == (scheme == "light"), sizes
    browser.switch_to.default_content()
    _shot(browser, "review")
    status, body, _ = _request(f"{base}/api/v2/assets?name_pattern=morocco_ai_watch_labels", token=token)
    asset_id = json.loads(body)["assets"][0]["id"]
    status, body, _ = _request(f"{base}/api/v2/assets/events?asset_id={asset_id}", token=token)
    events = sorted(json.loads(body)["asset_events"], key=lambda e: e["id"])
    assert status == 200 and [(e["extra"]["source"], e["extra"]["who"], e["extra"]["article_id"]) for e in events] \
        == [("ui", "admin", article_id)], events
    # The command-line import asks the same API (user and password from the environment).
    labels_file = airflow_ui["home"].parent / "labels.csv"
    labels_file.write_text(f"article_id,label\n{article_id},no\n", encoding="utf-8")
    imported = subprocess.run(
        [sys.executable, "-m", "classifiers", "label", "import", str(labels_file), "--who", "amina"],
        env=dict(airflow_ui["env"], WATCH_AIRFLOW_API_URL=base, WATCH_AIRFLOW_API_USER="admin",
                 WATCH_AIRFLOW_API_PASSWORD=airflow_ui["password"]),
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0 and "1 new" in imported.stdout, imported.stdout + imported.stderr
    assert "labels Asset updated (event" in imported.stderr and base in imported.stderr, imported.stderr
    status, body, _ = _request(f"{base}/api/v2/assets/events?asset_id={asset_id}", token=token)
    assert [e["extra"]["source"] for e in sorted(json.loads(body)["asset_events"], key=lambda e: e["id"])] \
        == ["ui", "file"]

    # The failing feed's link opens its task instance in the Airflow UI itself (not a UI inside the frame).
    browser.switch_to.frame(browser.find_element(By.CSS_SELECTOR, "iframe[title='AI Watch']"))
    browser.find_element(By.ID, "nav-feeds").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "tr[data-feed='broken'] a.log"))).click()
    browser.switch_to.default_content()
    wait.until(lambda d: "/tasks/poll_feed/mapped/" in d.current_url)
    wait.until(lambda d: "broken" in d.find_element(By.TAG_NAME, "body").text)
    _shot(browser, "task-log")
    _refresh_readme_screenshots()


VIEW_LAYOUT_PROBE = """
const doc = document.documentElement;
const tables = [...document.querySelectorAll('main table')].filter(t => t.getClientRects().length).map(t => {
  const scroller = t.closest('.table-scroll');
  return [t.id || t.className, Math.round(t.getBoundingClientRect().right),
          scroller ? Math.round(scroller.getBoundingClientRect().right) : null];
});
const narrow = [...document.querySelectorAll('main table thead th')].filter(th => th.getClientRects().length)
  .map(th => {
    const probe = document.createElement('span');
    probe.textContent = th.textContent.trim().split(/\\s+/).sort((a, b) => b.length - a.length)[0] || '';
    probe.style.cssText = 'position:absolute;visibility:hidden;white-space:nowrap;font:' + getComputedStyle(th).font;
    document.body.appendChild(probe);
    const needed = probe.getBoundingClientRect().width;
    probe.remove();
    const style = getComputedStyle(th);
    return [th.textContent.trim(), th.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight), needed];
  }).filter(([, inner, needed]) => inner + 2 < needed);
return {page_width: doc.scrollWidth, window_width: doc.clientWidth, tables: tables, narrow: narrow,
        background: getComputedStyle(document.body).backgroundColor};
"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_view_fits_the_window_in_light_and_dark_mode(airflow_ui, browser, scheme):
    """Feeds, Events, Review and Model as served by the real api-server: no sideways page, every table
    inside the window (or inside its own scrolling region), no column narrower than its header's
    longest word, and the scheme's background."""
    base = airflow_ui["base"]
    status, body, _ = _request(f"{base}/auth/token", data={"username": "admin", "password": airflow_ui["password"]})
    browser.get(f"{base}/aiwatch/static/ui.css")     # a same-origin page to set the session cookie on
    browser.add_cookie({"name": "_token", "value": json.loads(body)["access_token"], "path": "/"})
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia",
                            {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
    try:
        for width in (1280, 1920):
            browser.set_window_size(width, 900)
            for view in ("feeds", "events", "review", "model"):
                browser.get(f"{base}/aiwatch/{view}")
                found = browser.execute_script(VIEW_LAYOUT_PROBE)
                where = f"{view} at {width}px in {scheme} mode"
                assert found["page_width"] <= found["window_width"], f"{where} scrolls sideways: {found}"
                outside = [t for t in found["tables"] if min(t[1], t[2] or t[1]) > found["window_width"] + 2]
                assert outside == [], f"{where}: tables outside the window: {outside}"
                assert found["narrow"] == [], f"{where}: columns narrower than their header: {found['narrow']}"
                assert (found["background"] == "rgb(255, 255, 255)") == (scheme == "light"), (
                    where, found, browser.execute_script("return [localStorage.getItem('theme'), "
                                                         "document.documentElement.dataset.theme]"))
                if width == 1280:
                    _shot(browser, f"{view}-{scheme}")
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
        browser.set_window_size(1280, 860)


def _refresh_readme_screenshots() -> None:
    """With `UPDATE_SCREENSHOTS=1`, the README's screenshots are replaced by this run's (a maintainer's
    step, not a check: nothing to assert, so it is not a test of its own)."""
    if not os.environ.get("UPDATE_SCREENSHOTS"):
        return
    target = REPO / "docs" / "screenshots"
    target.mkdir(parents=True, exist_ok=True)
    for name in ("events", "review", "model"):   # feeds.png: tests/test_ui_layout.py, with the shipped feeds list
        shutil.copy2(SCREENSHOTS / f"{name}.png", target / f"{name}.png")
