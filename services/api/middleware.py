"""The api's edge: bodies capped and strictly parsed before any route sees them; safe headers."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.problems import field_problem, strict_json_problem

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
STATIC_PREFIX = "/static/"
# No inline script or style anywhere: the pages load theirs from /static.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


class BodyTooLargeError(Exception):
    """The client sent more than the api reads."""


async def _reply(send: Send, status: int, detail: object, *, close: bool = False) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _counted(scope: Scope, field: str) -> None:
    app = scope.get("app")
    api = getattr(getattr(app, "state", None), "api", None)
    if api is not None:
        api.rejections.count(field)


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            kind = bytes(value).split(b";", 1)[0].strip().lower()
            return kind == b"application/json" or kind.endswith(b"+json")
    return False


def _declared_length(scope: Scope) -> int | None:
    """The Content-Length header as a number; -1 when it is not one."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else -1
    return None


@dataclass(frozen=True, slots=True)
class RequestGuard:
    """Reads at most `max_body_bytes` of a body (413 beyond), and refuses non-strict JSON (422).

    The whole body is read here, before routing, so a route never parses more than the cap and
    never sees NaN, Infinity or a lone surrogate, which Python's json accepts but nothing after
    it can store, bill or print.
    """

    app: ASGIApp
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with its body read and checked, or answer for it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared == -1:
            _counted(scope, "content-length")
            await _reply(send, 400, "content-length: not a number", close=True)
            return
        if declared is not None and declared > self.max_body_bytes:
            _counted(scope, "body")
            await _reply(send, 413, self._too_large(), close=True)
            return
        try:
            body, last = await self._read(receive)
        except BodyTooLargeError:
            _counted(scope, "body")
            await _reply(send, 413, self._too_large(), close=True)
            return
        if body and _is_json(scope):
            problem = strict_json_problem(body)
            if problem is not None:
                _counted(scope, ".".join(str(part) for part in problem.loc))
                await _reply(send, 422, [field_problem(problem.loc, problem.message)])
                return
        await self.app(scope, _replay(body, last, receive), send)

    def _too_large(self) -> str:
        return f"body: larger than the {self.max_body_bytes} bytes the api reads"

    async def _read(self, receive: Receive) -> tuple[bytes, Message]:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client left: hand its goodbye on as the request's last message.
                return b"".join(chunks), message
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise BodyTooLargeError
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), message


def _replay(body: bytes, last: Message, receive: Receive) -> Receive:
    """A receive that gives the body read already, then what the client sends after it."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            if last["type"] != "http.request":
                return last
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


@dataclass(frozen=True, slots=True)
class SecurityHeaders:
    """Adds CSP, nosniff, frame and referrer rules to every answer; no-store but on static files."""

    app: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on and add the headers to its answer."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith(STATIC_PREFIX)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                added = {name for name, _ in SECURITY_HEADERS}
                if not static:
                    added.add(b"cache-control")
                headers = [(n, v) for n, v in message.get("headers", ()) if n.lower() not in added]
                headers.extend(SECURITY_HEADERS)
                if not static:
                    # Sessions, exports and statements name members: no copy on disk or proxy.
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
