"""Real local receivers on loopback for notification tests: SMTP (aiosmtpd) and an HTTP webhook."""

from __future__ import annotations

import asyncio
import contextlib
import email
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

from tests.harness import free_port


@dataclass
class Mailbox:
    messages: list[Message] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"

    def text(self, index: int) -> str:
        message = self.messages[index]
        parts = [message] if not message.is_multipart() else [p for p in message.walk() if not p.is_multipart()]
        for part in parts:
            if part.get_content_type() == "text/plain":
                payload = part.get_payload(decode=True)
                assert isinstance(payload, bytes)
                return payload.decode(part.get_content_charset() or "utf-8")
        raise AssertionError("no text/plain part")


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@dataclass
class Webhook:
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200


@contextlib.asynccontextmanager
async def webhook_server() -> AsyncIterator[tuple[Webhook, int]]:
    """A minimal HTTP/1.1 server: records each request's path, headers and JSON body."""
    hook = Webhook()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            hook.requests.append(
                {"method": method, "path": path, "headers": headers, "json": json.loads(body or b"null")}
            )
            reason = "OK" if hook.status == 200 else "Error"
            writer.write(f"HTTP/1.1 {hook.status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield hook, port
    finally:
        server.close()
        await server.wait_closed()
