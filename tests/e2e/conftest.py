"""A real dashboard process on 127.0.0.1 and a real headless Chromium driving it."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
# Flags of Debian's Chromium as root in a sandbox with no internet (see env docs).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def browser():
    """Chromium via Playwright; skipped when absent unless SMS_REQUIRE_BROWSER=1."""
    required = os.environ.get("SMS_REQUIRE_BROWSER") == "1"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            pytest.fail("playwright is not installed but SMS_REQUIRE_BROWSER=1")
        pytest.skip("playwright is not installed")
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        if required:
            pytest.fail(
                f"{CHROMIUM} is missing but SMS_REQUIRE_BROWSER=1 (apt-get install chromium)"
            )
        pytest.skip("Debian's chromium is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


# The environment of the running product (its database), for fixtures that add to it.
home_env: dict[str, str] = {}


@pytest.fixture(scope="session")
def account(dashboard_url):
    """Make an account of ``role`` in the running product: (name, one-time password)."""

    made: Counter[str] = Counter()

    def make(name: str, role: str) -> tuple[str, str]:
        # A rerun of a failed browser test (one retry, below) finds the first try's account:
        # it gets a fresh one under a numbered name.
        made[name] += 1
        if made[name] > 1:
            name = f"{name}-{made[name]}"
        out = subprocess.run(
            [sys.executable, "-m", "sms_core", "users", "add", name, "--role", role],
            cwd=ROOT,
            env=home_env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return name, re.search(r"one-time password: (\S+)", out).group(1)

    return make


@pytest.fixture(scope="session")
def dashboard_url(tmp_path_factory):
    """The whole product as `make run` starts it (dashboard + worker, demo data), on a
    throwaway database and a free port."""
    port = _free_port()
    home = tmp_path_factory.mktemp("product")
    log = home / "product.log"
    env = {
        **os.environ,
        "SMS_DATABASE_URL": f"sqlite:///{home / 'sms.db'}",
        "SMS_SANDBOX_PATH": str(home / "outbox.db"),
        "SMS_SANDBOX_DELIVERY_DELAY": "0.5",
        "SMS_QUIET_HOURS": "00:00-00:00",
        "SMS_WORKER_STATUS_POLL_AFTER": "0.5",
    }
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                *("-m", "sms_core", "run", "--port", str(port)),
                *("--links-port", str(_free_port())),  # not 8600: a `make run` may hold it
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the product did not start:\n" + log.read_text(errors="replace"))
            time.sleep(0.3)
        # Nothing is open: the first start printed the admin's one-time password.
        found = re.search(r"one-time password (\S+)", log.read_text(errors="replace"))
        if found is None:
            pytest.fail("the first start printed no admin password:\n" + log.read_text())
        home_env.update(env)
        yield url, found.group(1)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can see a failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser, request):
    """A fresh browser page; on failure its screenshot lands in artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1100}, locale="ja-JP")
    pg = context.new_page()
    yield pg
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        pg.screenshot(path=str(ARTIFACTS / f"FAILED_{request.node.name}.png"), full_page=True)
    context.close()


def pytest_collection_modifyitems(items):
    """A real browser on a busy 2-core machine can see a rerun land between a click and
    its check: each browser test gets one more try (pytest-rerunfailures); a test that
    fails twice fails."""
    if os.environ.get("SMS_E2E_NO_RETRY") == "1":  # to see a first failure while debugging
        return
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=2))
