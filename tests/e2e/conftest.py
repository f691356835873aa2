"""Browser tests: real `streamlit run` and uvicorn on free ports with their own seeded database,
driven by Playwright with Debian's chromium. Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.smtp import SmtpServer

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
DEMO_PASSWORD = "demo-passwort-2026"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


@dataclass(frozen=True)
class Servers:
    ui: str
    api: str
    env: dict[str, str]
    smtp: SmtpServer


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is missing: `make test` installs it (apt-get install chromium)")
    data = tmp_path_factory.mktemp("e2e")
    ui_port, api_port = free_port(), free_port()
    smtp = SmtpServer().start()
    env = os.environ | {
        # Mails go to a real local SMTP server the tests read; public links point at this API.
        "CRM_SMTP_HOST": smtp.host,
        "CRM_SMTP_PORT": str(smtp.port),
        "CRM_SMTP_STARTTLS": "false",
        "CRM_PUBLIC_BASE_URL": f"http://127.0.0.1:{api_port}",
        "CRM_DATABASE_URL": f"sqlite:///{data / 'crm.db'}",
        "CRM_SECRET_KEY_FILE": str(data / "secret.key"),
        "CRM_ADMIN_PASSWORD": "e2e-admin-passwort",
        "PYTHONUNBUFFERED": "1",
    }
    subprocess.run(
        [sys.executable, "manage.py", "demo", "seed", "--size", "small", "--seed", "7"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    logs = {name: open(data / f"{name}.log", "w") for name in ("ui", "api")}  # noqa: SIM115
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app/main.py",
                "--server.port",
                str(ui_port),
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=ROOT,
            env=env,
            stdout=logs["ui"],
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(api_port)],
            cwd=ROOT,
            env=env,
            stdout=logs["api"],
            stderr=subprocess.STDOUT,
        ),
    ]
    try:
        wait_for(f"http://127.0.0.1:{ui_port}/_stcore/health")
        wait_for(f"http://127.0.0.1:{api_port}/health")
        yield Servers(f"http://127.0.0.1:{ui_port}", f"http://127.0.0.1:{api_port}", env, smtp)
    finally:
        smtp.stop()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        for log in logs.values():
            log.close()
        ARTIFACTS.mkdir(exist_ok=True)
        for name in ("ui", "api"):
            shutil.copy(data / f"{name}.log", ARTIFACTS / f"e2e-{name}.log")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: object, servers: Servers) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="de-DE")  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()
