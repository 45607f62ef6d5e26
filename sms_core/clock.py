"""The one clock: every "now" in sms_core comes from :func:`now_utc`.

Tests set it (:func:`set_now`, :func:`frozen`, :func:`advance`) instead of sleeping or
reading the wall clock, so the suite passes at any date and hour, including 23:59 Japan
time on a month's last day. A subprocess (a worker under test) starts from ``SMS_NOW``
(an ISO instant with its offset, e.g. ``2026-11-30T23:59:00+09:00``) and runs on in real
time from there, so its leases and back-offs still advance. ``SMS_NOW`` is read on the
first reading of the clock, not on import: nothing in sms_core reads the environment when
it is imported (tests/unit/test_import_reads_no_environment.py).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sms_core.errors import ConfigError

_lock = threading.Lock()
# Either None (the real clock) or (the instant it was set to, the monotonic reading then,
# whether it stands still).
_state: tuple[datetime, float, bool] | None = None
# Whether SMS_NOW has been looked at (or the clock set, which overrides it).
_environment_read = False


def _parse(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"SMS_NOW must be an ISO instant with its offset, not {text!r}") from None
    if instant.tzinfo is None:
        raise ConfigError(f"SMS_NOW needs a UTC offset (e.g. +09:00), not {text!r}")
    return instant.astimezone(UTC)


def now_utc() -> datetime:
    """The current instant, timezone-aware in UTC (what every column stores)."""
    if not _environment_read:
        _from_environment()
    state = _state
    if state is None:
        return datetime.now(UTC)
    instant, mark, frozen_ = state
    if frozen_:
        return instant
    return instant + timedelta(seconds=time.monotonic() - mark)


def set_now(instant: datetime | None, *, frozen: bool = True) -> None:
    """Make ``instant`` the current time (standing still unless ``frozen=False``);
    ``None`` returns to the real clock."""
    global _state, _environment_read
    with _lock:
        _environment_read = True
        if instant is None:
            _state = None
            return
        if instant.tzinfo is None:
            raise ValueError("the clock takes timezone-aware instants only")
        _set_locked(instant, frozen=frozen)


def _set_locked(instant: datetime, *, frozen: bool) -> None:
    global _state
    _state = (instant.astimezone(UTC), time.monotonic(), frozen)


def advance(seconds: float) -> datetime:
    """Move a set clock forward by ``seconds``; the new instant."""
    global _state
    with _lock:
        if _state is None:
            raise RuntimeError("advance() needs a clock set with set_now()")
        instant, mark, frozen_ = _state
        current = instant if frozen_ else instant + timedelta(seconds=time.monotonic() - mark)
        _state = (current + timedelta(seconds=seconds), time.monotonic(), frozen_)
        return _state[0]


@contextmanager
def frozen(instant: datetime) -> Iterator[datetime]:
    """``with frozen(t):`` the clock reads ``t`` until the block ends (then what it was)."""
    global _state
    before = _state
    set_now(instant)
    try:
        yield instant.astimezone(UTC)
    finally:
        with _lock:
            _state = before


def _from_environment() -> None:
    """Start from SMS_NOW if it is set, unless the clock was read or set before.

    A malformed SMS_NOW raises ConfigError now and on every later reading (never the real
    time instead)."""
    global _environment_read
    with _lock:
        if _environment_read:
            return
        text = os.environ.get("SMS_NOW", "").strip()
        if text:
            _set_locked(_parse(text), frozen=False)
        _environment_read = True
