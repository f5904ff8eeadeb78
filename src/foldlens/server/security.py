"""What a server answering browsers must refuse, and the headers every answer carries.

- **Host allow-list.** A request whose ``Host`` is not a name this server answers to gets 400: a
  page on another site that rebinds its own DNS name to 127.0.0.1 cannot read the API through
  the victim's browser. Loopback names are served by default; ``--allowed-host`` adds others.
- **No cross-site writes.** ``POST``, ``PUT`` and ``DELETE`` from a page of another origin (its
  ``Origin`` header names another host) get 403, and ``POST``/``PUT`` bodies must be JSON or
  multipart (415 otherwise): an HTML form or a ``text/plain`` fetch from another site can start
  neither jobs nor cancels.
- **Headers.** A content security policy that lets the page load only from its own origin (3Dmol.js
  draws with WebGL; canvases export through ``data:`` and ``blob:`` URLs), no MIME sniffing, no
  framing, no referrer.
"""

from __future__ import annotations

import ipaddress
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
WRITES = {"POST", "PUT", "DELETE", "PATCH"}
BODY_TYPES = ("application/json", "multipart/form-data")

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def host_name(host: str) -> str:
    """The name in a ``Host`` header or an origin's authority, without the port."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` keeps the server on this machine."""
    if host_name(host) == "localhost":
        return True
    try:
        return ipaddress.ip_address(host_name(host)).is_loopback
    except ValueError:
        return False


def bind_warning(host: str) -> str | None:
    """What to tell the person who binds the server to ``host``, if it is not loopback."""
    if is_loopback(host):
        return None
    return (
        f"binding to {host} makes the server reachable from other machines; it has no accounts, "
        "and every job and explanation is readable by anyone who can reach it. Put it behind a "
        "reverse proxy with TLS, and name the host clients use with --allowed-host."
    )


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers + HEADERS})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """ASGI middleware: the host allow-list, the cross-site write checks and the headers."""

    def __init__(self, app: ASGIApp, allowed_hosts: tuple[str, ...]) -> None:
        self.app = app
        self.allowed = {host_name(h) for h in allowed_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        host = host_name(headers.get("host", ""))
        if host not in self.allowed:
            await _refuse(
                send,
                400,
                f"this server does not answer to the host {host[:100]!r}; start it with "
                "--allowed-host NAME to serve that name",
            )
            return
        if scope["method"] in WRITES:
            origin = headers.get("origin")
            if origin is not None and host_name(origin.split("://", 1)[-1]) != host:
                await _refuse(send, 403, f"cross-site request from {origin[:100]!r} refused")
                return
            kind = headers.get("content-type", "").split(";")[0].strip().lower()
            has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
            if scope["method"] != "DELETE" and has_body and kind not in BODY_TYPES:
                await _refuse(
                    send,
                    415,
                    f"send JSON or multipart/form-data, not {kind or 'no content type'!r}",
                )
                return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in HEADERS if name not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)
