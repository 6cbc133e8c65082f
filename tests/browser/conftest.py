"""A real server with the demo data, and headless Chromium at a phone's viewport.

The browser is Debian's ``chromium`` (``/usr/bin/chromium``, or ``TRACE_CHROMIUM``) driven by
Playwright with ``executable_path``; Playwright's own browser downloads are never used.
Without a browser (or without the playwright package) these tests SKIP with a loud
message — unless ``TRACE_REQUIRE_BROWSER=1``, which fails them instead. Screenshots go to
``tests/_artifacts/browser/`` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "_artifacts" / "browser"
BIN = Path(sys.executable).parent / "trace-service"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE = {"width": 390, "height": 844}
REQUIRE = os.environ.get("TRACE_REQUIRE_BROWSER") == "1"


def _chromium() -> str | None:
    explicit = os.environ.get("TRACE_CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for candidate in ("/usr/bin/chromium", shutil.which("chromium") or "",
                      shutil.which("chromium-browser") or ""):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _skip_or_fail(why: str):
    message = (f"!!! BROWSER TESTS SKIPPED: {why}. Install Debian's chromium "
               "(`sudo apt-get install chromium`; `make test` does it when run as root).")
    if REQUIRE:
        pytest.fail(message.replace("SKIPPED", "REQUIRED (TRACE_REQUIRE_BROWSER=1)"))
    print("\n" + message, file=sys.stderr)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip_or_fail("the playwright package is not installed")
    executable = _chromium()
    if executable is None:
        _skip_or_fail("no chromium executable found")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=executable,
                                                 args=CHROMIUM_ARGS)
        except Exception as exc:  # noqa: BLE001 - any launch failure means "no browser"
            _skip_or_fail(f"chromium at {executable} does not start: {exc}")
        yield browser
        browser.close()


def _run(args, env):
    proc = subprocess.run([str(BIN), *args], env=env, capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``trace-service db upgrade``, ``demo`` and ``serve`` (gunicorn) on a free port."""
    instance = tmp_path_factory.mktemp("browser-instance")
    port = _free_port()
    env = dict(os.environ, TRACE_INSTANCE_PATH=str(instance),
               TRACE_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
               TRACE_PUBLIC_CACHE_SECONDS="0", TRACE_PUBLIC_TRUSTED_PROXIES="1",
               TRACE_PUBLIC_PAGES_PER_MINUTE="600")
    env.pop("TRACE_DATABASE_URL", None)
    _run(["db", "upgrade"], env)
    demo_output = _run(["demo"], env)
    import json

    demo = json.loads(_run(["demo", "--json"], env))
    proc = subprocess.Popen([str(BIN), "serve", "--port", str(port), "--workers", "1",
                             "--threads", "4"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                requests.get(base + "/healthz", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield {"base": base, "db": instance / "trace.sqlite3", "demo_output": demo_output,
               "demo": demo}
    finally:
        proc.terminate()
        proc.wait(20)


@pytest.fixture
def phone(chromium, request):
    """``phone(name, lang)``: a new phone (browser context) at 390x844; each phone is another
    visitor (its own address through X-Forwarded-For and its own user agent)."""
    contexts = []

    def make(name: str = "phone-1", lang: str = "zh-CN", javascript: bool = True):
        number = len(contexts) + 1 + 10 * (abs(hash(request.node.name)) % 20)
        context = chromium.new_context(
            viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True,
            locale=lang, java_script_enabled=javascript,
            user_agent=("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) "
                        f"AppleWebKit/605.1.15 Mobile/15E148 {name}"),
            extra_http_headers={"X-Forwarded-For": f"198.51.100.{number}",
                                "Accept-Language": lang})
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def shot(page, name: str, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
