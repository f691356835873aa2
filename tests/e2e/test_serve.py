"""`python manage.py serve` starts API, app and event dispatcher on the requested ports and stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, free_port, wait_for

pytestmark = pytest.mark.e2e


def test_serve_starts_api_and_app_on_given_ports(tmp_path: Path) -> None:
    env = os.environ | {
        "CRM_DATABASE_URL": f"sqlite:///{tmp_path / 'crm.db'}",
        "CRM_SECRET_KEY_FILE": str(tmp_path / "secret.key"),
        "PYTHONUNBUFFERED": "1",
    }
    api_port, ui_port = free_port(), free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--api-port", str(api_port), "--ui-port", str(ui_port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
        try:
            wait_for(f"http://127.0.0.1:{api_port}/health")
            wait_for(f"http://127.0.0.1:{ui_port}/_stcore/health")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    text = log.read_text()
    assert f"App http://localhost:{ui_port}" in text and f"API http://localhost:{api_port}/docs" in text
    assert "Erster Start: Benutzer 'admin' angelegt" in text, "the first start creates the admin and prints it once"
    assert (tmp_path / "secret.key").exists(), "the secret key is generated on the first run"
    assert proc.returncode == 0
