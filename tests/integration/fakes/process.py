"""An imitation server in its own process, for tests that kill and restart the worker.

::

    with ServerProcess("karaden", "--token", "t", "--fault-rate", "0.2") as fake:
        run_the_worker(base_url=fake.url + "/api")
        assert fake.stats()["duplicates"] == []

The server outlives any worker process the test kills; it is driven over its admin API.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["ServerProcess"]

ROOT = Path(__file__).resolve().parents[3]


class ServerProcess:
    """``python -m tests.integration.fakes.<kind>_server --port 0 ARGS…`` as a context manager."""

    def __init__(self, kind: str, *args: str, startup_timeout: float = 30.0) -> None:
        if kind not in ("karaden", "twilio"):
            raise ValueError(f"no imitation server for {kind!r}")
        self.kind = kind
        self.args = args
        self.startup_timeout = startup_timeout
        self.url = ""
        self.proc: subprocess.Popen[str] | None = None
        # A file, not a pipe: a pipe nobody reads would block a long-running server. It lives
        # as long as this object, so no with-block can hold it.
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115

    def __enter__(self) -> ServerProcess:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                f"tests.integration.fakes.{self.kind}_server",
                "--port",
                "0",
                *self.args,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # the server prints it once it listens
        match = re.fullmatch(r"LISTENING (http://\S+)\n", line)
        if match is None:
            self.stop()
            raise RuntimeError(f"the {self.kind} imitation did not start: {line!r} {self.log()}")
        self.url = match[1]
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> int | None:
        """Terminate the server (SIGTERM) and return its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
        return self.proc.returncode

    def log(self) -> str:
        """What the server wrote to stderr (its final stats once stopped)."""
        self._stderr.seek(0)
        return self._stderr.read()

    # --- the admin API -----------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Messages stored, sends, duplicates (per number and text) and faults injected."""
        return self._call("GET", "stats")

    def messages(self) -> list[dict[str, Any]]:
        """Every stored message as the API shows it now."""
        return self._call("GET", "messages")

    def fail_next(self, kind: str, count: int = 1, **params: Any) -> None:
        """Queue ``count`` faults of ``kind`` (see :mod:`tests.integration.fakes.server`)."""
        self._call("POST", "faults", {"kind": kind, "count": count, **params})

    def random_faults(self, rate: float, seed: int = 0, kinds: list[str] | None = None) -> None:
        """Fail a seeded fraction of sends."""
        spec: dict[str, Any] = {"random": rate, "seed": seed}
        if kinds:
            spec["kinds"] = kinds
        self._call("POST", "faults", spec)

    def clear_faults(self) -> None:
        """No more faults."""
        self._call("POST", "faults", {"clear": True})

    def reset(self) -> None:
        """Forget messages, counts and faults."""
        self._call("POST", "reset", {})

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(f"{self.url}/_admin/{path}", data=data, method=method)
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.load(resp)
