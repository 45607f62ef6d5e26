"""CPU time of groups of processes over a benchmark run, read from /proc (Linux only).

    meter = CpuMeter(classify)  # classify(pid, comm) -> group name, or None to leave out
    meter.start()
    ...                         # the run; call meter.sample() now and then
    usage = meter.stop()        # usage.seconds["workers"], usage.busy_share, ...

A process is read from ``/proc/<pid>/stat`` (user + system time of all its threads). One
that starts during the run counts from zero; one that ends between two samples keeps
what the last sample saw, so sample every second or so. The whole machine's busy and
total time come from ``/proc/stat``: what no group accounts for is other load (other
programs sharing the machine, the kernel's own work).

No dependency beyond the standard library: a benchmark adds no runtime requirement.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CpuMeter", "CpuUsage", "cmdline", "postgres_classifier"]

_TICK = os.sysconf("SC_CLK_TCK")
_PROC = Path("/proc")


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(comm, start time, user + system ticks) of a process; None once it is gone."""
    try:
        raw = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # comm may hold spaces and parentheses: it runs to the last ')'.
    head, _, rest = raw.rpartition(")")
    fields = rest.split()  # fields[0] is stat field 3 (state): field k is fields[k - 3]
    return head.partition("(")[2], int(fields[19]), int(fields[11]) + int(fields[12])


def cmdline(pid: int) -> str:
    """The command line (for PostgreSQL: its process title) of ``pid``; '' once it is gone."""
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def _machine() -> tuple[int, int, int]:
    """(busy ticks, total ticks, processors) of the whole machine so far."""
    lines = (_PROC / "stat").read_text().splitlines()
    user, nice, system, idle, iowait, irq, softirq, steal = map(int, lines[0].split()[1:9])
    busy = user + nice + system + irq + softirq + steal
    cpus = sum(1 for line in lines if line.startswith("cpu") and line[3].isdigit())
    return busy, busy + idle + iowait, cpus


@dataclass
class CpuUsage:
    """CPU seconds each group used over a run, and how busy the machine was."""

    wall: float
    seconds: dict[str, float]
    busy: float  # CPU seconds the whole machine was busy
    capacity: float  # CPU seconds it had: processors × wall
    cpus: int

    @property
    def busy_share(self) -> float:
        """The share of all processors' time that was busy (1.0: every core saturated)."""
        return self.busy / self.capacity if self.capacity else 0.0

    @property
    def other(self) -> float:
        """Busy CPU seconds no group accounts for: other load on the machine."""
        return max(self.busy - sum(self.seconds.values()), 0.0)


@dataclass
class CpuMeter:
    """Samples the CPU time of processes grouped by ``classify(pid, comm)``."""

    classify: Callable[[int, str], str | None]
    _first: dict[tuple[int, int], int] = field(default_factory=dict)
    _last: dict[tuple[int, int], tuple[str, int]] = field(default_factory=dict)
    _machine0: tuple[int, int, int] = (0, 0, 0)
    _started: float = 0.0

    def _scan(self) -> dict[tuple[int, int], tuple[str, int]]:
        seen = {}
        for entry in _PROC.iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            stat = _stat(pid)
            if stat is None:
                continue
            comm, start, ticks = stat
            group = self.classify(pid, comm)
            if group is not None:
                seen[(pid, start)] = (group, ticks)
        return seen

    def start(self) -> None:
        """Take the starting point of every process and of the machine."""
        self._started = time.monotonic()
        self._machine0 = _machine()
        first = self._scan()
        self._first = {key: ticks for key, (_, ticks) in first.items()}
        self._last = dict(first)

    def sample(self) -> None:
        """Note where every process is now (those ending later keep this much)."""
        self._last.update(self._scan())

    def stop(self) -> CpuUsage:
        """Take the end point; the CPU seconds each group used since :meth:`start`."""
        self.sample()
        busy1, total1, cpus = _machine()
        wall = time.monotonic() - self._started
        busy0, total0, _ = self._machine0
        seconds: dict[str, float] = {}
        for key, (group, ticks) in self._last.items():
            used = (ticks - self._first.get(key, 0)) / _TICK
            seconds[group] = seconds.get(group, 0.0) + used
        # The machine's own ticks are per processor: total1 - total0 ≈ cpus × wall.
        return CpuUsage(
            wall=wall,
            seconds=seconds,
            busy=(busy1 - busy0) / _TICK,
            capacity=(total1 - total0) / _TICK,
            cpus=cpus,
        )


def postgres_classifier(
    database: str, name: str = "postgres", server: str = "pg server"
) -> Callable[[int], str | None]:
    """``name`` for the backends working for ``database``, ``server`` for the server's own
    processes (WAL writer, checkpointer, …: they work for every database on it), None for
    other databases' backends.

    A backend's title is ``postgres: [cluster: ]user database host(port) activity``.
    """

    def classify(pid: int) -> str | None:
        words = cmdline(pid).split()
        if database in words:
            return name
        if "autovacuum" in words and "worker" in words:
            return None  # vacuuming another database (ours is named, above)
        # Another database's backend names its client: '127.0.0.1(5432)' or '[local]'.
        if any(w == "[local]" or (w.endswith(")") and "(" in w) for w in words[1:]):
            return None
        return server

    return classify
