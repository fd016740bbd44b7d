"""A real HTTP receiver on a free loopback port that answers from a script, then recovers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from services.webhooks.signing import verifies

OK, FAIL, HANG = "ok", "500", "hang"  # or any status code, as text
# How long a hanging answer holds the request at most: far beyond the worker's timeout.
HANG_LIMIT_S = 10.0


@dataclass(frozen=True)
class Received:
    """One POST as the receiver saw it."""

    delivery: str
    event: str
    timestamp: str
    signature: str
    body: bytes
    answered: str


@dataclass
class Receiver:
    """Answers each POST with the next step of its script (then `ok`), and keeps what came."""

    url: str
    script: list[str]
    received: list[Received] = field(default_factory=list)
    on_request: Callable[[Received], None] | None = None
    released: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_answer(self) -> str:
        """The script's next step; `ok` once it is done."""
        with self.lock:
            return self.script.pop(0) if self.script else OK

    def accepted(self) -> list[Received]:
        """The POSTs answered 2xx, in the order they came."""
        with self.lock:
            return [r for r in self.received if r.answered == OK]

    def deduplicated(self) -> list[str]:
        """Delivery ids accepted, first arrival only, as a receiver deduplicating would keep."""
        seen: dict[str, None] = {}
        for item in self.accepted():
            seen.setdefault(item.delivery, None)
        return list(seen)

    def signed_right(self, secret: str) -> bool:
        """Whether every POST carries a signature the secret verifies."""
        with self.lock:
            return all(verifies(secret, r.timestamp, r.body, r.signature) for r in self.received)


@contextmanager
def running_receiver(script: list[str]) -> Iterator[Receiver]:
    """Serve a receiver on 127.0.0.1 and a free port until the block ends."""
    holder: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver = holder[0]
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            answer = receiver.next_answer()
            item = Received(
                delivery=self.headers.get("X-Officina-Delivery", ""),
                event=self.headers.get("X-Officina-Event", ""),
                timestamp=self.headers.get("X-Officina-Timestamp", ""),
                signature=self.headers.get("X-Officina-Signature", ""),
                body=body,
                answered=answer,
            )
            with receiver.lock:
                receiver.received.append(item)
            if receiver.on_request is not None:
                receiver.on_request(item)
            if answer == HANG:
                receiver.released.wait(HANG_LIMIT_S)
            code = 200 if answer == OK else int(answer)
            try:
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass  # the sender gave up on this request already

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    holder.append(Receiver(url=f"http://127.0.0.1:{server.server_port}/hooks", script=script))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        holder[0].released.set()
        server.shutdown()
        server.server_close()
