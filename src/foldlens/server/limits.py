"""Caps on request bodies: their size (``413``) and the time a client takes to send one (``408``),
each answered with a JSON message.

The declared ``Content-Length`` is checked before anything is read; bodies sent without one
(chunked) are counted as they stream in and cut off as soon as they pass the cap; whatever the app
then answers (a JSON route says it could not parse the body) is replaced by the 413. A client that
has not sent its whole body within ``max_seconds`` (a slow or stalled upload, holding a connection)
gets 408 and the connection is closed.
"""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLargeError(Exception):
    pass


class BodyTooSlowError(Exception):
    pass


UPLOAD_SECONDS = 120.0
"""Default time a client has to send a request body."""


class UploadLimit:
    """ASGI middleware refusing HTTP request bodies over ``max_bytes``, or not sent within
    ``max_seconds``."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_seconds: float = UPLOAD_SECONDS) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds

    def message(self) -> str:
        return f"the upload is over the {self.max_bytes / 2**20:g} MB limit"

    async def _refuse(self, send: Send, status: int = 413) -> None:
        detail = self.message() if status == 413 else (
            f"the request body did not arrive within {self.max_seconds:g} s"
        )  # fmt: skip
        body = json.dumps({"detail": detail}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(body)),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        exceeded = started = answered = False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_seconds

        body_done = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded, body_done
            if body_done:  # later reads only wait for a disconnect: no deadline
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise BodyTooSlowError from None
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                exceeded = True
                raise BodyTooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started, answered
            if exceeded and not started:
                # The app answered a body cut off at the cap (a JSON route turns any error while
                # reading into 400 "error parsing the body"): the answer is 413 all the same.
                started = answered = True
                await self._refuse(send)
                return
            if answered:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLargeError:
            if answered:
                return
            if started:
                raise
            await self._refuse(send)
        except BodyTooSlowError:
            if not started:
                await self._refuse(send, 408)
