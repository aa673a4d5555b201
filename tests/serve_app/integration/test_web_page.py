"""The web page and the API docs in a real browser, on the Serve app, offline.

Debian's Chromium, driven by Selenium through Debian's chromedriver (no browser or
driver is ever downloaded: the driver path is given, so Selenium Manager never runs,
and ``SE_OFFLINE`` would stop it from reaching the network if it did). Chromium's
fake media devices feed a WAV made from ``tests/data/miscue.mp3`` into the
microphone, so the page's ``MediaRecorder`` records a real reading. Every host name
but the loopback address fails to resolve in this browser, so the page and the docs
are shown as they would be offline: nothing may come from a CDN.

The test logs in through the page's form, chooses ``tests/data/miscue.png``, records,
waits for the check, and reads the marked words from the DOM: they must be exactly
the planted miscues. It also checks the security headers, that no cookie was set and
that the token is in sessionStorage, plays a miscue's cut, then opens ``/docs`` and
``/redoc``. Screenshots go to ``.data/screenshots/`` (their paths are printed; run
with ``-s`` to see them).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.selenium_manager import SeleniumManager

from tests.conftest import REPO, wait_until
from tests.serve_app.integration.conftest import make_account

pytestmark = pytest.mark.serve

DATA = REPO / "tests" / "data"
MISCUE = json.loads((DATA / "miscue.json").read_text())
PLANTED = {(m["type"], m["expected"]) for m in MISCUE["miscues"]}
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SCREENSHOTS = REPO / ".data" / "screenshots"
#: Silence around the reading in the fake microphone's file: Chromium loops the file,
#: so the recording stops in the trailing silence, before the reading starts again.
LEAD_S, TRAIL_S = 0.3, 2.5
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}
DESKTOP = (1280, 900)


@pytest.fixture(scope="module")
def fake_microphone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The planted reading as 48 kHz mono 16-bit WAV, with silence before and after."""
    wav = tmp_path_factory.mktemp("microphone") / "miscue.wav"
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(DATA / MISCUE["audio"]),
            "-af", f"adelay={int(LEAD_S * 1000)}:all=1,apad=pad_dur={TRAIL_S}",
            "-ac", "1", "-ar", "48000", "-sample_fmt", "s16", str(wav),
        ],
        check=True,
    )
    return wav


@pytest.fixture(scope="module")
def browser(fake_microphone: Path) -> Iterator[webdriver.Chrome]:
    """Headless Chromium with the fake microphone, and no network but loopback."""
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail("Debian's chromium and chromium-driver are needed (scripts/bootstrap.sh)")

    def no_download(*_args, **_kwargs):
        raise AssertionError("Selenium Manager must not run: the driver path is given")

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")
        patch.setattr(SeleniumManager, "binary_paths", no_download)
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in (
            "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
            "--hide-scrollbars",
            f"--window-size={DESKTOP[0]},{DESKTOP[1]}", "--lang=en-US",
            "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-audio-capture={fake_microphone}",
            "--autoplay-policy=no-user-gesture-required",
            # Offline but for this machine: any other host name fails to resolve.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-extensions",
        ):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: webdriver.Chrome, name: str, max_height: int = 4000) -> Path:
    """Save a PNG of the whole page (beyond the viewport, down to ``max_height`` CSS
    pixels) and print its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], max_height),
            "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path.write_bytes(base64.b64decode(shot["data"]))
    print(f"screenshot: {path}")
    return path


def phone_screenshot(driver: webdriver.Chrome, name: str) -> Path:
    """Screenshot the page on a phone's screen (390x844 CSS pixels, touch, 2x), after
    checking that nothing makes it wider than the screen."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    try:
        driver.execute_script("window.scrollTo(0, 0)")
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name}: the page is {overflow} px wider than a phone's screen"
        return screenshot(driver, name)
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def visible(driver: webdriver.Chrome, element_id: str) -> bool:
    return driver.find_element(By.ID, element_id).is_displayed()


def off_origin_requests(driver: webdriver.Chrome, origin: str) -> list[str]:
    """Every resource the page loaded (or tried) from anywhere but ``origin``."""
    names = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".concat([location.href]);"
    )
    return [n for n in names if not n.startswith((origin, "blob:", "data:"))]


def requests_that_left(driver: webdriver.Chrome, origin: str) -> list[str]:
    """Requests to anywhere but ``origin`` since the last call that the browser did
    not block itself (a Content-Security-Policy block never reaches the network),
    from the DevTools network events in the performance log."""
    sent: dict[str, str] = {}
    blocked: set[str] = set()
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent":
            sent[params["requestId"]] = params["request"]["url"]
        elif message["method"] == "Network.loadingFailed" and params.get("blockedReason"):
            blocked.add(params["requestId"])
    return [
        url for request, url in sent.items()
        if request not in blocked and not url.startswith((origin, "blob:", "data:"))
    ]


def console_problems(driver: webdriver.Chrome) -> list[str]:
    """Console errors other than expected 404s of source maps, and every CSP report."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if (entry["level"] == "SEVERE" and ".map" not in entry["message"])
        or "Content Security Policy" in entry["message"]
    ]


def log_in(driver: webdriver.Chrome, url: str, username: str, password: str) -> None:
    driver.get(f"{url}/")
    wait_until(lambda: visible(driver, "login-view"), 20, what="the login form")
    screenshot(driver, "web-login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login-button").click()
    wait_until(lambda: visible(driver, "check-view"), 20, what="logged in")
    wait_until(
        lambda: driver.find_element(By.ID, "audio-model").get_attribute("value") == "whisper"
        and driver.find_element(By.ID, "image-model").get_attribute("value") == "en_easyocr",
        20, what="the model lists",
    )


def record_reading(driver: webdriver.Chrome) -> None:
    """Record the fake microphone for the reading's length, in the trailing silence."""
    driver.find_element(By.ID, "record-button").click()
    wait_until(
        lambda: "recording" in driver.find_element(By.TAG_NAME, "body").get_attribute("class"),
        10, what="recording started",
    )
    time.sleep(LEAD_S + MISCUE["duration_s"] + 0.8)
    driver.find_element(By.ID, "record-button").click()
    wait_until(lambda: visible(driver, "recording-preview"), 10, what="the recording")
    preview = driver.find_element(By.ID, "recording-preview")
    recorded = preview.get_attribute("data-type"), int(preview.get_attribute("data-bytes"))
    print(f"recorded: {recorded}")
    assert recorded[0].startswith(("audio/webm", "audio/ogg")) and recorded[1] > 10_000, recorded


def result_or_error(driver: webdriver.Chrome) -> str | None:
    if visible(driver, "result"):
        return "result"
    error = driver.find_element(By.ID, "check-error")
    return f"error: {error.text}" if error.is_displayed() else None


def test_a_reading_is_checked_in_the_browser(serve_url: str, http: httpx.Client, browser):
    account = make_account(http)
    log_in(browser, serve_url, account.username, account.password)

    browser.find_element(By.ID, "photo-input").send_keys(str(DATA / MISCUE["image"]))
    wait_until(lambda: visible(browser, "photo-preview"), 10, what="the photo preview")
    record_reading(browser)
    screenshot(browser, "web-ready")
    phone_screenshot(browser, "web-ready-phone")
    check = browser.find_element(By.ID, "check-button")
    assert check.is_enabled()
    check.click()
    wait_until(
        lambda: browser.find_elements(By.CSS_SELECTOR, '#progress li.active[data-stage="compare"]')
        or not visible(browser, "progress"),
        60, interval_s=0.05, what="the comparison running",
    )
    screenshot(browser, "web-progress")
    outcome = wait_until(lambda: result_or_error(browser), 300, interval_s=0.5,
                         what="the result")
    assert outcome == "result", outcome

    marks = browser.find_elements(By.CSS_SELECTOR, "#page-text [data-miscue]")
    marked = {(m.get_attribute("data-miscue"), m.get_attribute("data-expected")) for m in marks}
    print(f"marked words: {sorted(marked)}")
    assert marked == PLANTED
    found = {m.get_attribute("data-expected"): m.get_attribute("data-found") for m in marks}
    assert found["brown"] == "black" and found["green"] == ""
    assert len(browser.find_elements(By.CSS_SELECTOR, "#miscues li")) == len(PLANTED)
    figures = browser.find_element(By.ID, "summary").text
    assert "Accuracy" in figures and "WCPM" in figures
    assert browser.execute_script(
        "const i = document.getElementById('annotated'); return i.complete && i.naturalWidth;"
    ) > 0

    # The first miscue's cut plays: fetched with the token, shown as a blob: URL.
    browser.find_element(By.CSS_SELECTOR, "#miscues button.play").click()
    wait_until(
        lambda: browser.execute_script(
            "const a = document.querySelector('#miscues audio');"
            "return a && a.src.startsWith('blob:') && a.readyState >= 1 && a.duration > 0;"
        ),
        20, what="the miscue's cut loaded",
    )

    # Tokens: in sessionStorage, never in a cookie.
    stored = json.loads(browser.execute_script("return sessionStorage.getItem('fmr.session')"))
    assert stored["username"] == account.username and stored["access_token"]
    assert browser.get_cookies() == []
    assert browser.execute_script("return document.cookie") == ""
    assert browser.execute_script("return localStorage.length") == 0
    assert account.password not in browser.current_url

    assert off_origin_requests(browser, serve_url) == []
    assert requests_that_left(browser, serve_url) == []
    assert console_problems(browser) == []
    page = http.get("/")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "http" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "set-cookie" not in page.headers

    browser.execute_script("window.scrollTo(0, 0)")
    screenshot(browser, "web-result-desktop")
    phone_screenshot(browser, "web-result-phone")

    # An access token the API refuses is renewed once with the refresh token (two
    # model lists ask at once: one refresh, or reuse detection would end the login);
    # logging out forgets both.
    browser.execute_script(
        "const s = JSON.parse(sessionStorage.getItem('fmr.session'));"
        "s.access_token = 'not.a.token'; sessionStorage.setItem('fmr.session', JSON.stringify(s));"
    )
    browser.refresh()
    wait_until(lambda: visible(browser, "check-view") and browser.find_element(
        By.ID, "audio-model").get_attribute("value") == "whisper", 20, what="tokens refreshed")
    renewed = json.loads(browser.execute_script("return sessionStorage.getItem('fmr.session')"))
    assert renewed["access_token"] not in ("not.a.token", stored["access_token"])
    assert renewed["refresh_token"] != stored["refresh_token"]
    me = http.get("/v1/auth/users/me",
                  headers={"Authorization": f"Bearer {renewed['access_token']}"})
    assert me.status_code == 200 and me.json()["username"] == account.username
    browser.find_element(By.ID, "logout").click()
    wait_until(lambda: visible(browser, "login-view"), 10, what="logged out")
    assert browser.execute_script("return sessionStorage.getItem('fmr.session')") is None
    assert http.post("/v1/auth/refresh", data={
        "grant_type": "refresh_token", "refresh_token": renewed["refresh_token"]
    }).status_code == 401


@pytest.mark.parametrize(
    ("path", "ready"),
    [
        # Swagger UI's endpoint list.
        ("/docs", "return document.querySelectorAll('.opblock').length"),
        # ReDoc's rendered operations.
        ("/redoc", "return document.querySelectorAll('.api-content h2').length"),
    ],
)
def test_the_api_docs_load_offline(serve_url: str, browser, path: str, ready: str):
    requests_that_left(browser, serve_url)  # only this page's requests from here
    browser.get(f"{serve_url}{path}")
    count = wait_until(lambda: browser.execute_script(ready), 60, interval_s=0.5,
                       what=f"{path} rendered")
    assert count >= 20, count
    assert "Create a task comparing a recording with the text on an image" in (
        browser.find_element(By.TAG_NAME, "body").text
    )
    # ReDoc's sidebar logo is on its CDN: the page's policy blocks it in the browser.
    assert requests_that_left(browser, serve_url) == []
    screenshot(browser, f"docs{path.replace('/', '-')}", max_height=1800)
