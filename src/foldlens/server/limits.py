"""A cap on the size of request bodies, answered with ``413`` and a JSON message.

The declared ``Content-Length`` is checked before anything is read; bodies sent without one
(chunked) are counted as they stream in and cut off as soon as they pass the cap; whatever the app
then answers (a JSON route says it could not parse the body) is replaced by the 413.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLargeError(Exception):
    pass


class UploadLimit:
    """ASGI middleware refusing HTTP request bodies over ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def message(self) -> str:
        return f"the upload is over the {self.max_bytes / 2**20:g} MB limit"

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": self.message()}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(body)),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
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

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
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
