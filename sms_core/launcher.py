"""`make run`: the whole embedded product — dashboard, dispatch worker and link service.

Three processes, because Streamlit does not support sending threads inside it: the
dashboard (``streamlit run app.py``: dashboard.py plus its session routes), the worker
(``python -m sms_core worker``) and the short-link and receipt service
(``python -m sms_core serve``, port 8600, where the default ``SMS_SHORT_URL_BASE`` points).
The database is migrated and, when empty, seeded with demo data first. Ctrl-C (or
SIGTERM) stops all; if one exits, the others are stopped too.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from sms_core.store.users import FIRST_ADMIN

ROOT = Path(__file__).resolve().parent.parent
# How long a child gets to finish its work in flight before it is killed.
_STOP_GRACE_SECONDS = 15


def _first_admin(engine) -> str | None:
    from sms_core.store.db import transaction
    from sms_core.store.users import ensure_first_admin

    with transaction(engine) as session:
        return ensure_first_admin(session)


def run_product(
    *,
    port: int = 8501,
    address: str = "127.0.0.1",
    demo: bool = True,
    worker: bool = True,
    links: bool = True,
    links_port: int = 8600,
) -> int:
    """Migrate, seed (if empty), start the worker, link service and dashboard; return a code."""
    from sms_core.demo.showcase import seed_demo
    from sms_core.store.db import make_engine, upgrade

    engine = make_engine()
    try:
        upgrade(engine)
        if demo and seed_demo(engine):
            print("demo data added: a contract and a few months of history", file=sys.stderr)
        password = _first_admin(engine)
    finally:
        engine.dispose()
    if password:
        # Nothing is open by default: the first start creates one admin, shown once here.
        print(
            f"first start: sign in as '{FIRST_ADMIN}' with the one-time password {password}\n"
            "(you choose a new password at first sign-in; add users with "
            "python -m sms_core users add NAME --role ROLE)",
            file=sys.stderr,
        )
    commands = []
    if worker:
        commands.append([sys.executable, "-m", "sms_core", "worker"])
    if links:
        commands.append(
            [
                sys.executable,
                "-m",
                "sms_core",
                "serve",
                "--host",
                address,
                "--port",
                str(links_port),
            ]
        )
    commands.append(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.address",
            address,
            "--server.port",
            str(port),
        ]
    )
    children = [subprocess.Popen(c, cwd=ROOT) for c in commands]
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"dashboard: http://{address}:{port}   (Ctrl-C stops everything)", file=sys.stderr)
    if links:
        print(f"short links and receipts: http://{address}:{links_port}", file=sys.stderr)
    code = 0
    while not stopping:
        for child in children:
            if child.poll() is not None:
                code, stopping = child.returncode, True
        time.sleep(0.2)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + _STOP_GRACE_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            child.kill()
    return code
