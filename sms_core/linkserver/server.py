"""Running the link service on waitress, a production WSGI server in pure Python.

``python -m sms_core serve [--host 127.0.0.1] [--port 8600] [--threads 16]`` runs
:func:`serve` until Ctrl-C / SIGTERM. Tests and benchmarks use :func:`start` to run it in a
thread on an ephemeral port. Waitress was chosen over gunicorn because it runs the same on
every platform the dashboard runs on and needs no pre-fork worker processes: each request
is a short database transaction, so threads are enough.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from sms_core.linkserver.app import LinkApp
from sms_core.linkserver.receipts import ReceiptConfig

__all__ = ["DEFAULT_PORT", "DEFAULT_THREADS", "RunningServer", "make_server", "serve", "start"]

log = logging.getLogger(__name__)

DEFAULT_PORT = 8600  # what tags.DEFAULT_SHORT_URL_BASE points at
DEFAULT_THREADS = 16
# A receipt is small; nothing else is posted. Waitress refuses bigger bodies itself.
_MAX_BODY = 1024 * 1024


def make_server(
    app: Callable,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    threads: int = DEFAULT_THREADS,
):
    """A waitress server bound to ``host:port`` (0: any free port), not yet running."""
    from waitress.server import create_server

    return create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        ident="sms-links",
        # Never put a traceback into an answer (it could show configuration).
        expose_tracebacks=False,
        max_request_body_size=_MAX_BODY,
        # The default backlog (1024) and connection limit (100) fit a burst of clicks after
        # a campaign goes out; the limit is raised so 32+ keep-alive clients do not queue.
        connection_limit=256,
    )


@dataclass
class RunningServer:
    """A server running in a background thread: its ``url`` and a :meth:`stop`."""

    server: object
    thread: threading.Thread
    url: str

    def stop(self) -> None:
        """Close the listening socket and the connections, and wait for the thread.

        The sockets are closed by the server's own loop thread (a thunk through its
        trigger), never under a poll running in another thread; with no socket left
        the loop ends, then the request threads finish what they are serving.
        """
        from waitress import wasyncore

        server = self.server
        # OSError: the loop already ended and closed its trigger (its last socket went
        # first): there is nothing left to close through it.
        with contextlib.suppress(OSError):
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))  # type: ignore[attr-defined]
        self.thread.join(timeout=10)
        server.task_dispatcher.shutdown()  # type: ignore[attr-defined]


def start(
    engine: Engine,
    config: ReceiptConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    threads: int = DEFAULT_THREADS,
    app: Callable | None = None,
) -> RunningServer:
    """Run the link service (or ``app``) in a daemon thread; ``port=0`` picks a free one."""
    server = make_server(app or LinkApp(engine, config), host=host, port=port, threads=threads)
    thread = threading.Thread(target=server.run, name="sms-links", daemon=True)
    thread.start()
    url = f"http://{host}:{server.effective_port}"
    return RunningServer(server, thread, url)


def serve(
    engine: Engine,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    threads: int = DEFAULT_THREADS,
) -> int:
    """Serve until SIGTERM or Ctrl-C; returns the process exit code."""
    config = ReceiptConfig.from_env()
    server = make_server(LinkApp(engine, config), host=host, port=port, threads=threads)

    def stop(*_: object) -> None:
        # Waitress's own way to stop: its run() catches KeyboardInterrupt in the loop and
        # lets the request threads finish what they are serving.
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("link service on http://%s:%s (%r)", host, server.effective_port, config)
    try:
        server.run()
    finally:
        with contextlib.suppress(OSError):
            server.close()
    log.info("link service stopped")
    return 0
