"""What the imitation provider servers share: threads, capacity, faults, admin API, CLI.

A server is a ``ThreadingHTTPServer`` on 127.0.0.1 and a random port (``port=0``), used as a
context manager (``with KaradenServer() as server: … server.url …``) or run as a process
(``python -m tests.integration.fakes.karaden_server --port N``; it prints
``LISTENING <url>`` once it accepts connections and stops on SIGTERM).

Faults, set per test — each applies to the next matching request (``on="send"`` by default;
``"lookup"`` for detail/list requests, ``"cancel"``, or ``"any"``):

=================  ========================================================================
``rate_limit``     HTTP 429 in the API's error format with ``Retry-After`` (``retry_after``,
                   seconds or an HTTP date string); nothing stored
``server_error``   HTTP ``status`` (500) in the API's error format; the message IS stored
                   first (``store=False`` to refuse it instead)
``slow``           stores, then waits ``delay`` seconds (2) before the normal answer, past
                   the client's read timeout
``malformed``      stores, then answers 2xx with a body that is not JSON
``drop``           stores, then closes the socket without any answer (``store=False``:
                   closes before processing, so nothing is stored)
=================  ========================================================================

``server.fail_next(kind, count=1, **params)`` queues faults; ``server.random_faults(rate,
seed=…, kinds=…)`` makes a seeded fraction of requests fail with a random kind. Capacity:
``latency`` (seconds added to every request), ``max_concurrency`` (requests served at once;
the rest wait) and ``rate_limit`` (requests per second; above it, 429 with Retry-After).

Over HTTP (for a server in another process), without auth: ``GET /_admin/stats``,
``GET /_admin/messages``, ``POST /_admin/faults`` (JSON ``{"kind", "count", "on", …}`` or
``{"random": 0.2, "seed": 1, "kinds": [...]}``, ``{"clear": true}``), ``POST /_admin/reset``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import re
import signal
import socket
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

__all__ = ["FAULT_KINDS", "FakeHandler", "FakeServer", "Fault", "Request", "Response", "run_cli"]

FAULT_KINDS = ("rate_limit", "server_error", "slow", "malformed", "drop")
ROUTES = ("send", "lookup", "cancel")
# Whether a fault of this kind lets the request be processed (the message stored) first.
_STORES_BY_DEFAULT = {
    "rate_limit": False,
    "server_error": True,
    "slow": True,
    "malformed": True,
    "drop": True,
}


@dataclass
class Fault:
    """One injected failure; see the module docstring for the kinds."""

    kind: str
    on: str = "send"
    store: bool | None = None
    status: int = 500
    retry_after: str = "1"
    delay: float = 2.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; one of {FAULT_KINDS}")
        if self.on not in (*ROUTES, "any"):
            raise ValueError(f"unknown route {self.on!r}; one of {ROUTES} or 'any'")
        if self.store is None:
            self.store = _STORES_BY_DEFAULT[self.kind]

    def matches(self, route: str) -> bool:
        """Whether this fault applies to a request of ``route``."""
        return self.on in ("any", route)


class FaultPlan:
    """Queued and random faults, shared by the handler threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Fault] = deque()
        self._rate = 0.0
        self._rng = random.Random(0)
        self._kinds: tuple[str, ...] = FAULT_KINDS
        self._random_on = "send"
        self.injected: Counter[str] = Counter()

    def add(self, fault: Fault, count: int = 1) -> None:
        """Queue ``count`` copies of ``fault`` for the next matching requests."""
        with self._lock:
            self._queue.extend(Fault(**asdict(fault)) for _ in range(count))

    def set_random(
        self, rate: float, *, seed: int = 0, kinds: tuple[str, ...] = FAULT_KINDS, on: str = "send"
    ) -> None:
        """Fail a ``rate`` fraction of matching requests with a kind drawn from ``kinds``."""
        for kind in kinds:
            Fault(kind)  # validates the name
        with self._lock:
            self._rate, self._rng, self._kinds, self._random_on = (
                rate,
                random.Random(seed),
                tuple(kinds),
                on,
            )

    def clear(self) -> None:
        """No more faults."""
        with self._lock:
            self._queue.clear()
            self._rate = 0.0

    def take(self, route: str) -> Fault | None:
        """The fault for this request, if any (queued ones first)."""
        with self._lock:
            for i, fault in enumerate(self._queue):
                if fault.matches(route):
                    del self._queue[i]
                    self.injected[fault.kind] += 1
                    return fault
            if self._rate and self._random_on in ("any", route) and self._rng.random() < self._rate:
                fault = Fault(self._rng.choice(self._kinds), on=route, delay=2.0)
                self.injected[fault.kind] += 1
                return fault
        return None


@dataclass
class Request:
    """A request as the API saw it (kept for assertions on the wire format)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    form: dict[str, list[str]]
    route: str = ""
    at: float = field(default_factory=time.time)


@dataclass
class Response:
    """What a route answers: a status, a JSON-able body and extra headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class FakeServer:
    """Base of an imitation provider; subclasses add routes, auth and message records."""

    handler_class: ClassVar[type[FakeHandler]]
    name: ClassVar[str] = "fake"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        delivery_delay: float = 0.2,
        latency: float = 0.0,
        max_concurrency: int | None = None,
        rate_limit: float | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.delivery_delay = delivery_delay
        self.latency = latency
        self.rate_limit = rate_limit
        self.faults = FaultPlan()
        self.lock = threading.RLock()
        self.messages: dict[str, dict[str, Any]] = {}
        self.send_counts: Counter[tuple[str, str]] = Counter()
        self.requests: deque[Request] = deque(maxlen=20_000)
        self.stopping = threading.Event()
        self._slots = threading.BoundedSemaphore(max_concurrency) if max_concurrency else None
        self._bucket = (float(rate_limit or 0), time.monotonic())
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._skew = 0.0

    # --- its clock ---------------------------------------------------------------------

    def now(self) -> float:
        """The imitation's epoch time, which moves its messages along (delivery_delay): the
        wall clock, plus whatever :meth:`advance` added."""
        return time.time() + self._skew

    def advance(self, seconds: float) -> None:
        """Move the imitation's clock forward: a test sees a message's later states at once,
        without sleeping, and without racing a short delivery_delay on a loaded machine."""
        with self.lock:
            self._skew += seconds

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> FakeServer:
        """Listen and serve on a background thread."""
        httpd = _HTTPServer((self.host, self.port), self.handler_class)
        httpd.fake = self
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(
            # A short poll interval: shutdown() waits for one, and tests start many servers.
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"{self.name}-server",
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; slow answers still pending are abandoned."""
        self.stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The server's root URL, ``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self.port}"

    # --- test controls -----------------------------------------------------------------

    def fail_next(self, kind: str, count: int = 1, **params: Any) -> None:
        """Make the next ``count`` matching requests fail with ``kind``."""
        self.faults.add(Fault(kind, **params), count)

    def random_faults(
        self, rate: float, *, seed: int = 0, kinds: tuple[str, ...] = FAULT_KINDS, on: str = "send"
    ) -> None:
        """Fail a seeded random ``rate`` fraction of requests."""
        self.faults.set_random(rate, seed=seed, kinds=kinds, on=on)

    def stored(self) -> list[dict[str, Any]]:
        """Every message accepted so far, as the API shows it now, oldest first."""
        with self.lock:
            return [self.render(m) for m in self.messages.values()]

    def duplicates(self) -> dict[tuple[str, str], int]:
        """(to, body) pairs sent more than once, with their counts."""
        with self.lock:
            return {key: n for key, n in self.send_counts.items() if n > 1}

    def sent_requests(self, route: str = "send") -> list[Request]:
        """The requests of one route that reached the API (after auth)."""
        return [r for r in list(self.requests) if r.route == route]

    def reset(self) -> None:
        """Forget messages, counts, requests and faults."""
        with self.lock:
            self.messages.clear()
            self.send_counts.clear()
            self.requests.clear()
            self.faults.clear()
            self.reset_extra()

    def stats(self) -> dict[str, Any]:
        """Counts for a test in another process (``GET /_admin/stats``)."""
        with self.lock:
            return {
                "messages": len(self.messages),
                "sends": sum(self.send_counts.values()),
                "duplicates": [
                    {"to": to, "body": body, "count": n}
                    for (to, body), n in self.send_counts.items()
                    if n > 1
                ],
                "faults_injected": dict(self.faults.injected),
                "requests": len(self.requests),
                **self.extra_stats(),
            }

    # --- for subclasses ----------------------------------------------------------------

    routes: ClassVar[list[tuple[str, str, str, str]]] = []  # method, regex, route, method name

    def authenticate(self, req: Request, match: re.Match[str]) -> Response | None:
        """An error response when the request's credentials are wrong, else None."""
        return None

    def error(
        self, status: int, message: str | None = None, code: Any = None, **extra: Any
    ) -> Response:
        """An error in the API's own format (its usual code and message for ``status``)."""
        raise NotImplementedError

    def render(self, record: dict[str, Any]) -> dict[str, Any]:
        """A stored record as the API shows it at this moment."""
        return dict(record)

    def reset_extra(self) -> None:
        """Forget subclass state (called under the lock)."""

    def extra_stats(self) -> dict[str, Any]:
        """Subclass counts for :meth:`stats` (called under the lock)."""
        return {}

    # --- used by the handler -----------------------------------------------------------

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of ``max_concurrency`` places while a request is served."""
        if self._slots is None:
            yield
            return
        with self._slots:
            yield

    def over_rate(self) -> bool:
        """Whether this request exceeds ``rate_limit`` (a token bucket of one second)."""
        if not self.rate_limit:
            return False
        with self.lock:
            tokens, last = self._bucket
            now = time.monotonic()
            tokens = min(self.rate_limit, tokens + (now - last) * self.rate_limit)
            if tokens < 1:
                self._bucket = (tokens, now)
                return True
            self._bucket = (tokens - 1, now)
            return False

    def find_route(
        self, method: str, path: str
    ) -> tuple[str, Callable[..., Response], re.Match[str]] | None:
        """The route kind, bound handler and path match for a request."""
        for verb, pattern, route, handler in self.routes:
            m = re.fullmatch(pattern, path)
            if verb == method and m:
                return route, getattr(self, handler), m
        return None


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # slow answers must not hold up shutdown
    allow_reuse_address = True
    request_queue_size = 256
    fake: FakeServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out or a socket we dropped on purpose is not news.
        exc = sys.exc_info()[1]
        if not isinstance(exc, ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


class FakeHandler(BaseHTTPRequestHandler):
    """Parses a request, applies capacity and faults, calls the route, writes JSON."""

    protocol_version = "HTTP/1.1"  # keep-alive, as real APIs do
    server: _HTTPServer

    def setup(self) -> None:
        """Disable Nagle: headers and body go out in two writes, and the client's delayed
        ACK would otherwise add ~40 ms to every keep-alive request."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``server.requests`` instead."""

    def do_GET(self) -> None:
        """Serve a GET."""
        self._serve("GET")

    def do_POST(self) -> None:
        """Serve a POST."""
        self._serve("POST")

    def do_DELETE(self) -> None:
        """Serve a DELETE."""
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        ctype = self.headers.get("Content-Type", "")
        form = (
            parse_qs(raw.decode("utf-8"), keep_blank_values=True)
            if ctype.startswith("application/x-www-form-urlencoded")
            else {}
        )
        req = Request(
            method=method,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k: v for k, v in self.headers.items()},
            form=form,
        )
        if parts.path.startswith("/_admin/"):
            self._write(self._admin(fake, req, raw))
            return
        with fake.slot():
            if fake.latency:
                fake.stopping.wait(fake.latency)
            found = fake.find_route(method, parts.path)
            if found is None:
                self._write(fake.error(404, f"The requested resource {parts.path} was not found"))
                return
            req.route, handler, match = found
            denied = fake.authenticate(req, match)
            if denied is not None:
                self._write(denied)
                return
            fake.requests.append(req)
            if fake.over_rate():
                self._write(self._too_many(fake, "1"))
                return
            fault = fake.faults.take(req.route)
            if fault is not None and not fault.store:
                self._apply(fault, None)
                return
            resp = handler(req, match)
            if fault is not None:
                self._apply(fault, resp)
                return
            self._write(resp)

    def _apply(self, fault: Fault, resp: Response | None) -> None:
        fake = self.server.fake
        if fault.kind == "rate_limit":
            self._write(self._too_many(fake, fault.retry_after))
        elif fault.kind == "server_error":
            self._write(fake.error(fault.status))
        elif fault.kind == "slow":
            fake.stopping.wait(fault.delay)
            if resp is not None:
                self._write(resp)
        elif fault.kind == "malformed":
            status = resp.status if resp is not None and resp.status < 300 else 200
            self._write_raw(status, b'{"id": "truncated', "application/json")
        elif fault.kind == "drop":
            self._drop()

    def _too_many(self, fake: FakeServer, retry_after: str) -> Response:
        resp = fake.error(429)
        resp.headers["Retry-After"] = retry_after
        return resp

    def _admin(self, fake: FakeServer, req: Request, raw: bytes) -> Response:
        if req.method == "GET" and req.path == "/_admin/stats":
            return Response(200, fake.stats())
        if req.method == "GET" and req.path == "/_admin/messages":
            return Response(200, fake.stored())
        if req.method == "POST" and req.path == "/_admin/reset":
            fake.reset()
            return Response(200, {"ok": True})
        if req.method == "POST" and req.path == "/_admin/faults":
            try:
                spec = json.loads(raw or b"{}")
                if spec.pop("clear", False):
                    fake.faults.clear()
                elif "random" in spec:
                    fake.random_faults(
                        float(spec["random"]),
                        seed=int(spec.get("seed", 0)),
                        kinds=tuple(spec.get("kinds", FAULT_KINDS)),
                        on=spec.get("on", "send"),
                    )
                else:
                    count = int(spec.pop("count", 1))
                    fake.fail_next(spec.pop("kind"), count, **spec)
            except (ValueError, KeyError, TypeError) as e:
                return Response(400, {"error": str(e)})
            return Response(200, {"ok": True})
        return Response(404, {"error": "no such admin endpoint"})

    def _write(self, resp: Response) -> None:
        if resp.status == 204:
            self._write_raw(204, b"", "application/json; charset=utf-8", resp.headers)
            return
        payload = json.dumps(resp.body, ensure_ascii=False).encode("utf-8")
        self._write_raw(resp.status, payload, "application/json; charset=utf-8", resp.headers)

    def _write_raw(
        self, status: int, payload: bytes, ctype: str, headers: dict[str, str] | None = None
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a read timeout): nothing to do

    def _drop(self) -> None:
        # Close without a byte of answer, as when a connection dies after the request arrived.
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def now_utc() -> datetime:
    """The imitated provider's own clock, timezone-aware: the wall clock, as a real
    provider's is (it is not ours to set; the product's is sms_core.clock)."""
    return datetime.now(UTC)


def run_cli(
    server_cls: type[FakeServer], argv: list[str] | None, add_args: Callable, make: Callable
) -> int:
    """Run ``server_cls`` as a process until SIGTERM/SIGINT; prints ``LISTENING <url>``."""
    parser = argparse.ArgumentParser(
        prog=f"python -m tests.integration.fakes.{server_cls.name}_server"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--delivery-delay", type=float, default=0.5)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--max-concurrency", type=int, default=None)
    parser.add_argument("--rate-limit", type=float, default=None, help="requests per second")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="e.g. 0.2 for 20%%")
    parser.add_argument("--fault-seed", type=int, default=0)
    parser.add_argument("--fault-kinds", default=",".join(FAULT_KINDS))
    add_args(parser)
    args = parser.parse_args(argv)
    server = make(
        args,
        host=args.host,
        port=args.port,
        delivery_delay=args.delivery_delay,
        latency=args.latency,
        max_concurrency=args.max_concurrency,
        rate_limit=args.rate_limit,
    )
    if args.fault_rate:
        server.random_faults(
            args.fault_rate, seed=args.fault_seed, kinds=tuple(args.fault_kinds.split(","))
        )
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    server.start()
    print(f"LISTENING {server.url}", flush=True)
    try:
        done.wait()
    finally:
        server.stop()
    print(json.dumps(server.stats()), file=sys.stderr, flush=True)
    return 0
