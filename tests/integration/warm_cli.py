"""``python -m sms_core …`` in its own process, started warm: forked from a process that has
already imported the product.

Why: the integration tests start the command line about 350 times per run (each command,
each worker of the crash and fault tests). Each cold start spends 0.3–1 s of CPU importing
SQLAlchemy, pandas, requests and the product before it does anything, which was a third of
the suite's CPU on the 2-core machine.

What stays real: every command is still a separate OS process with its own environment,
working folder, standard streams, exit code and signals (``kill -9`` kills it, ``SIGTERM``
reaches its handler). What is skipped: the interpreter's start-up and the first import of
the product, which ``tests/integration/test_cli_startup.py`` (a cold subprocess, on
purpose) and the CI step under faketime (``SMS_TEST_CLI_EXEC=1``: every command there is
a cold ``exec``) keep covering.

How: one "zygote" process per test process (``python -m tests.integration.warm_cli
SOCKET``), started on first use, imports every ``sms_core`` module once and then waits on a
Unix socket. Each request carries the arguments, environment and folder, and the three
standard streams as file descriptors; the zygote forks, the child becomes the command
(``runpy`` runs ``sms_core.__main__`` as ``-m`` does), and the zygote reports the child's
pid and, when it ends, its exit status (as ``subprocess`` gives it: negative for a signal).

A request falls back to a cold ``exec`` when what it asks for cannot be had from a fork:
another working folder, or environment variables the interpreter or the C library read only
at start (``PYTHON*``, ``LD_*``, ``FAKETIME*``, ``LANG``/``LC_*``). ``TZ`` is applied with
``time.tzset()``.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]
ENV_EXEC = "SMS_TEST_CLI_EXEC"
# Read by the interpreter or the C library when a process starts, so a fork cannot take
# them from a request.
_START_ONLY = ("PYTHON", "LD_", "FAKETIME", "LANG", "LC_")
# ...except these, which the forked child applies itself.
_APPLIED_IN_CHILD = {"PYTHONPATH", "PYTHONUNBUFFERED"}
_MAX_REQUEST = 1 << 20

# ---------------------------------------------------------------- the client (tests) ---


class WarmProcess:
    """A command forked by the zygote: the part of ``subprocess.Popen`` the tests use."""

    def __init__(self, conn: socket.socket, pid: int, args: list[str]) -> None:
        self._conn = conn
        self.pid = pid
        self.args = args
        self.returncode: int | None = None

    def _read_status(self, timeout: float | None) -> int | None:
        if self.returncode is not None:
            return self.returncode
        ready, _, _ = select.select([self._conn], [], [], timeout)
        if not ready:
            return None
        data = self._conn.recv(_MAX_REQUEST)
        if not data:
            raise RuntimeError(f"the CLI zygote went away while {self.args} ran")
        self.returncode = int(json.loads(data)["status"])
        self._conn.close()
        return self.returncode

    def poll(self) -> int | None:
        """The exit code if the process has ended, else None."""
        return self._read_status(0)

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the process to end; raise ``subprocess.TimeoutExpired`` after timeout."""
        code = self._read_status(timeout)
        if code is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return code

    def send_signal(self, sig: int) -> None:
        """Send ``sig`` to the process, unless it has already been reaped."""
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        """SIGTERM."""
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL."""
        self.send_signal(signal.SIGKILL)


class _Zygote:
    """The zygote of this test process: started on first use, stopped at exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None
        self._dir: str | None = None
        self.env: dict[str, str] = {}

    @property
    def path(self) -> str:
        assert self._dir is not None
        return os.path.join(self._dir, "zygote.sock")

    def ensure(self) -> None:
        """Start the zygote unless it is running."""
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                return
            self._dir = tempfile.mkdtemp(prefix="sms-zygote-")
            # A developer's own SMS_* settings are not the product's to import with.
            self.env = {k: v for k, v in os.environ.items() if not k.startswith("SMS_")}
            self.env["OPENBLAS_NUM_THREADS"] = "1"  # no BLAS threads in a process that forks
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "tests.integration.warm_cli", self.path],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert self._proc.stdout is not None
            line = self._proc.stdout.readline()
            if line.strip() != "READY":
                raise RuntimeError(f"the CLI zygote did not start: {line!r}")
            atexit.register(self.stop)

    def stop(self) -> None:
        """End the zygote (commands it started go on until they end or are killed)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)  # the socket's folder

    def start(
        self, args: list[str], env: Mapping[str, str], cwd: str, fds: list[int]
    ) -> WarmProcess:
        self.ensure()
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            conn.connect(self.path)
            payload = json.dumps({"args": args, "env": dict(env), "cwd": cwd}).encode()
            socket.send_fds(conn, [payload], fds)
            reply = conn.recv(_MAX_REQUEST)
            if not reply:
                raise RuntimeError(f"the CLI zygote did not start {args}")
            pid = int(json.loads(reply)["pid"])
        except BaseException:
            conn.close()
            raise
        return WarmProcess(conn, pid, args)


_ZYGOTE = _Zygote()


def _cold(env: Mapping[str, str], cwd: str) -> bool:
    """True when this start must be a cold exec (see the module's docstring)."""
    if os.environ.get(ENV_EXEC) == "1":
        return True
    # A cold `python -m sms_core` finds the product in its folder or on PYTHONPATH.
    if ROOT not in {Path(p).resolve() for p in (cwd, *_pythonpath(env))}:
        return True
    _ZYGOTE.ensure()
    base = _ZYGOTE.env
    keys = {k for k in (*env, *base) if k.startswith(_START_ONLY)} - _APPLIED_IN_CHILD
    return any(env.get(k) != base.get(k) for k in keys)


def _pythonpath(env: Mapping[str, str]) -> list[str]:
    return [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]


def _command(args: Sequence[str]) -> list[str]:
    """The cold command line: ``python -m sms_core ARGS``."""
    return [sys.executable, "-m", "sms_core", *args]


def start(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path = ROOT,
    stdout: IO[Any] | int | None = None,
    stderr: IO[Any] | int | None = None,
) -> WarmProcess | subprocess.Popen[bytes]:
    """Start ``python -m sms_core ARGS``; stdout/stderr: a file, a descriptor, DEVNULL (the
    default), or (stderr) ``subprocess.STDOUT``. Returns a Popen-like process (pid, poll,
    wait, send_signal, terminate, kill, returncode)."""
    args = [str(a) for a in args]
    env = dict(os.environ if env is None else env)
    cwd = str(cwd)
    if _cold(env, cwd):
        return subprocess.Popen(
            _command(args),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL if stdout is None else stdout,
            stderr=subprocess.DEVNULL if stderr is None else stderr,
        )
    with open(os.devnull, "r+b") as devnull:

        def fd_of(stream: IO[Any] | int | None) -> int:
            if stream is None or stream == subprocess.DEVNULL:
                return devnull.fileno()
            return stream if isinstance(stream, int) else stream.fileno()

        out = fd_of(stdout)
        err = out if stderr == subprocess.STDOUT else fd_of(stderr)
        # The zygote holds its own copies of the descriptors once start() returns.
        return _ZYGOTE.start(args, env, cwd, [devnull.fileno(), out, err])


def run(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path = ROOT,
    input: str | None = None,
    timeout: float | None = None,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run([python, -m, sms_core, *ARGS], capture_output=True, text=True)``,
    started warm. On timeout the command is killed and ``TimeoutExpired`` raised; with
    ``check``, a non-zero exit raises ``CalledProcessError``."""
    done = _run(args, env=env, cwd=cwd, input=input, timeout=timeout)
    if check:
        done.check_returncode()
    return done


def _run(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None,
    cwd: str | Path,
    input: str | None,
    timeout: float | None,
) -> subprocess.CompletedProcess[str]:
    args = [str(a) for a in args]
    env = dict(os.environ if env is None else env)
    if _cold(env, str(cwd)):
        return subprocess.run(
            _command(args),
            cwd=cwd,
            env=env,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
    # Files, not pipes: nothing to drain while waiting, so no deadlock on a full pipe.
    with (
        tempfile.TemporaryFile() as stdin,
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
    ):
        if input is not None:
            stdin.write(input.encode())
            stdin.seek(0)
        proc = _ZYGOTE.start(args, env, str(cwd), [stdin.fileno(), out.fileno(), err.fileno()])
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(
            _command(args),
            code,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
        )


# ------------------------------------------------------------------- the zygote itself ---


def _preload() -> None:
    """Import every product module (what a cold start would import, and more)."""
    import importlib
    import pkgutil

    import sms_core

    for info in pkgutil.walk_packages(sms_core.__path__, "sms_core."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)


_ZYGOTE_ENV = dict(os.environ)  # in the zygote: the environment it started with


def _child(request: dict[str, Any]) -> int:
    """In the forked child: become ``python -m sms_core ARGS``; returns the exit code."""
    import io
    import runpy
    import traceback

    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    time.tzset()
    unbuffered = bool(os.environ.get("PYTHONUNBUFFERED"))
    encoding = sys.stdout.encoding
    # Fresh standard streams on descriptors 0–2, buffered as a cold interpreter's would be.
    sys.stdin = io.TextIOWrapper(open(0, "rb", closefd=False), encoding=encoding)  # noqa: SIM115
    out_raw = open(1, "wb", buffering=0 if unbuffered else -1, closefd=False)  # noqa: SIM115
    err_raw = open(2, "wb", buffering=0 if unbuffered else -1, closefd=False)  # noqa: SIM115
    sys.stdout = io.TextIOWrapper(out_raw, encoding=encoding, write_through=unbuffered)
    sys.stderr = io.TextIOWrapper(
        err_raw,
        encoding=encoding,
        errors="backslashreplace",
        line_buffering=True,
        write_through=unbuffered,
    )
    sys.argv = ["-m", *request["args"]]
    # sys.path as `python -m` builds it: the folder, PYTHONPATH, then the installation.
    inherited = set(_pythonpath(_ZYGOTE_ENV))
    sys.path[:] = [
        request["cwd"],
        *_pythonpath(request["env"]),
        *(p for p in sys.path[1:] if p not in inherited),
    ]
    code: int
    try:
        runpy.run_module("sms_core", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        if exc.code is None:
            code = 0
        elif isinstance(exc.code, int):
            code = exc.code
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except KeyboardInterrupt:
        traceback.print_exc()
        code = 128 + signal.SIGINT
    except BaseException:
        traceback.print_exc()
        code = 1
    # What a cold interpreter does on its way out: wait for non-daemon threads, run atexit.
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    return code


def _serve(path: str) -> None:
    _preload()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen(64)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    children: dict[int, socket.socket] = {}
    parent = os.getppid()
    print("READY", flush=True)
    while not stopping:
        # Wakes every few seconds to see whether the test process that started it has
        # gone without stopping it (killed): then it goes too, rather than linger.
        readable, _, _ = select.select([listener, wake_r], [], [], 5.0)
        if os.getppid() != parent:
            break
        if wake_r in readable:
            try:
                while os.read(wake_r, 512):
                    pass
            except BlockingIOError:
                pass
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            conn = children.pop(pid, None)
            if conn is not None:
                # OSError: the test has gone, and nobody waits for this one.
                with contextlib.suppress(OSError):
                    conn.send(json.dumps({"status": os.waitstatus_to_exitcode(status)}).encode())
                conn.close()
        if listener not in readable:
            continue
        conn, _ = listener.accept()
        payload, fds, _, _ = socket.recv_fds(conn, _MAX_REQUEST, 3)
        request = json.loads(payload)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                listener.close()
                conn.close()
                for other in children.values():
                    other.close()
                signal.set_wakeup_fd(-1)
                os.close(wake_r)
                os.close(wake_w)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.default_int_handler)
                for target, fd in enumerate(fds):
                    os.dup2(fd, target)
                for fd in set(fds):
                    if fd > 2:
                        os.close(fd)
                code = _child(request)
            finally:
                os._exit(code)
        for fd in fds:
            os.close(fd)
        children[pid] = conn
        conn.send(json.dumps({"pid": pid}).encode())


if __name__ == "__main__":
    _serve(sys.argv[1])
