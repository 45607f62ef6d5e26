"""Japan time and quiet hours (R13, issue 7).

Times are entered and shown in Japan time and stored in UTC. Quiet hours (default
21:00–08:00 Japan time) are when recruiting messages must not arrive; a send that would
start inside them is refused or deferred to their end, as the user chooses, unless an
urgent reason (a weather or disaster notice) is given and recorded.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sms_core.errors import ConfigError, InputError

JST = ZoneInfo("Asia/Tokyo")
DEFAULT_QUIET_HOURS = "21:00-08:00"


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window in Japan time; ``start`` > ``end`` means it spans midnight."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """Parse ``"21:00-08:00"``; an empty or equal window means no quiet hours."""
        try:
            # "7:00" is written as often as "07:00"; isoformat wants two digits.
            a, b = (part.strip().rjust(5, "0") for part in text.split("-"))
            return cls(time.fromisoformat(a), time.fromisoformat(b))
        except ValueError:
            raise ConfigError(
                f"quiet hours must look like 21:00-08:00, not '{text}'",
                key="settings.quiet_hours",
                text=text,
            ) from None

    @classmethod
    def configured(cls) -> QuietHours:
        """From ``SMS_QUIET_HOURS``, default 21:00-08:00."""
        return cls.parse(os.environ.get("SMS_QUIET_HOURS", DEFAULT_QUIET_HOURS))

    def contains(self, instant: datetime) -> bool:
        """Whether the aware ``instant`` falls inside the window (Japan time)."""
        local = instant.astimezone(JST).time()
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def end_after(self, instant: datetime) -> datetime:
        """The first moment after ``instant`` when the window is over, in UTC."""
        local = instant.astimezone(JST)
        candidate = local.replace(
            hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0
        )
        if candidate <= local:
            candidate += timedelta(days=1)
        return candidate.astimezone(UTC)

    def label(self) -> str:
        """``21:00–08:00``, for messages."""
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


# The forms people type: 2026/12/01 10:00 (as the dashboard shows times), 2026-12-1 9:00,
# 2026年12月1日 10時, with full-width digits folded first.
_TYPED = re.compile(
    r"(\d{4})\s*[-/年]\s*(\d{1,2})\s*[-/月]\s*(\d{1,2})\s*日?(?:\s*|T)"
    r"(\d{1,2})\s*[:時]\s*(\d{2})?\s*分?"
)


def parse_japan_time(text: str) -> datetime:
    """``"2026-12-01 10:00"`` (or ``2026/12/01 10:00``, ``2026年12月1日 10時``) read as Japan
    time, returned as an aware UTC datetime (R13); an ISO instant keeps its own offset."""
    folded = unicodedata.normalize("NFKC", text).strip()
    typed = _TYPED.fullmatch(folded)
    try:
        if typed:
            year, month, day, hour, minute = (int(g or 0) for g in typed.groups())
            local = datetime(year, month, day, hour, minute)
        else:
            local = datetime.fromisoformat(folded)
    except ValueError:
        raise InputError(
            f"'{text}' is not a date and time; write it as 2026-12-01 10:00 (Japan time)",
            key="time.format",
            text=text,
        ) from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=JST)
    return local.astimezone(UTC)


def japan_time(instant: datetime) -> str:
    """An aware instant as Japan time, ``2026-12-01 10:00`` (the CLI's and logs' form,
    which the CLI also reads back with :func:`parse_japan_time`)."""
    return instant.astimezone(JST).strftime("%Y-%m-%d %H:%M")


def japan_display(instant: datetime) -> str:
    """An aware instant as the dashboard shows it: Japan time, ``2026/12/01 10:00``."""
    return instant.astimezone(JST).strftime("%Y/%m/%d %H:%M")
