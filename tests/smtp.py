"""A real local SMTP server for tests (aiosmtpd), collecting every message it receives, parsed.

    from tests.smtp import smtp_server  # noqa: F401 - or through tests/conftest.py

    def test_x(smtp_server: SmtpServer) -> None:
        ... SmtpBackend(host=smtp_server.host, port=smtp_server.port, starttls=False) ...
        mail = smtp_server.messages[0]            # email.message.EmailMessage
        mail["Subject"], mail.get_body(("plain",)).get_content()

aiosmtpd's Controller cannot take port 0, so a free port is picked first. The server can be stopped
and started again on the same port (an SMTP outage). A mail sent by another process (an e2e server)
arrives asynchronously: `wait_for(n)` polls until n messages are there.

PYTEST_DONT_REWRITE: test modules import this file before pytest loads it as a plugin, so its asserts
stay plain (and pytest does not warn that it could not rewrite them).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class _Collector:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.server.messages.append(parsed)
        self.server.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on `HOST:port` in a thread; `messages` and `recipients` (envelope) in arrival order."""

    def __init__(self, port: int | None = None) -> None:
        self.host = HOST
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self._controller: Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> SmtpServer:
        if self._controller is None:
            controller = Controller(_Collector(self), hostname=self.host, port=self.port)
            controller.start()
            self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """The messages once at least `count` have arrived (AssertionError after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} mail(s) at {self.host}:{self.port}, got {len(self.messages)}")
            time.sleep(0.05)
        return self.messages


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()
