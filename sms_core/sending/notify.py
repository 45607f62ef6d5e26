"""Team notifications to a chat incoming webhook (issue 16): Slack or Microsoft Teams.

The worker process posts, after the state change it reports has committed:

- ``campaign_finished`` — a campaign finished, with its counts per state;
- ``failures_high`` — a campaign's failed messages are above the failure threshold
  (setting ``notify_failure_ratio``, default 0.1 = 10%);
- ``quota_low`` — this month's remaining units fell below the quota threshold (setting
  ``notify_quota_ratio``, default 0.1 of the cap).

Each event is notified once: a row of ``notification`` with the unique ``(event,
subject)`` claims it before posting, so several workers never post it twice; a failed
post is retried up to :data:`MAX_ATTEMPTS` times. Only events of the last
:data:`WINDOW` are considered, so turning notifications on does not replay history.

The webhook URL is a secret (it lets anyone post to the channel): it comes from
``SMS_NOTIFY_WEBHOOK_URL`` or ``webhook_url`` under ``[notify]`` in
``.streamlit/secrets.toml``, never the database, and is never logged or shown whole
(:func:`webhook_hint`). The format (``slack`` or ``teams``) and the thresholds are team
settings. Posting runs in its own thread (:meth:`Notifier.kick`), with a short timeout:
a slow or broken chat service never holds up or breaks dispatch. Texts hold campaign
names and counts, never a phone number or a candidate's name.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from sms_core.clock import now_utc
from sms_core.errors import ConfigError
from sms_core.i18n import t
from sms_core.providers.settings import SECRETS_FILE, Secret
from sms_core.sending import quota
from sms_core.store.app_settings import SETTINGS, effective
from sms_core.store.db import read_only, rowcount, transaction
from sms_core.store.models import Campaign, Message, Notification

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

ENV_WEBHOOK = "SMS_NOTIFY_WEBHOOK_URL"
WINDOW = timedelta(days=1)
MAX_ATTEMPTS = 3
TIMEOUT_SECONDS = 5.0
INTERVAL_SECONDS = 10.0
EVENTS = ("campaign_finished", "failures_high", "quota_low")


def webhook_url(secrets_path: Path | str | None = None) -> Secret | None:
    """The webhook URL (environment, else secrets.toml ``[notify] webhook_url``), or None."""
    value = os.environ.get(ENV_WEBHOOK, "").strip()
    if not value:
        path = Path(secrets_path) if secrets_path is not None else SECRETS_FILE
        try:
            with path.open("rb") as f:
                table = tomllib.load(f).get("notify", {})
        except FileNotFoundError:
            table = {}
        except (tomllib.TOMLDecodeError, OSError) as exc:
            raise ConfigError(f"{path} cannot be read: {type(exc).__name__}") from None
        value = str(table.get("webhook_url", "") if isinstance(table, dict) else "").strip()
    if not value:
        return None
    if not value.startswith(("https://", "http://")):
        raise ConfigError(f"{ENV_WEBHOOK} must be an http(s) URL")
    return Secret(value)


class _HideWebhookPaths(logging.Filter):
    """Masks webhook paths in urllib3's debug lines ("POST /services/T…/B…/secret …").

    A Slack or Teams webhook's secret is its path, which urllib3 logs at DEBUG for every
    request; this filter, on urllib3's connection-pool logger, rewrites those lines.
    """

    def __init__(self) -> None:
        super().__init__()
        self.paths: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.paths:
            message = record.getMessage()
            for path in self.paths:
                message = message.replace(path, "/***")
            record.msg, record.args = message, ()
        return True


_HIDE = _HideWebhookPaths()
logging.getLogger("urllib3.connectionpool").addFilter(_HIDE)


def _hide(secret: Secret) -> None:
    parts = urlsplit(secret.reveal())
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    if len(path) > 1:
        _HIDE.paths.add(path)


def webhook_hint(secret: Secret | None) -> str | None:
    """What may be shown of the URL: its scheme and host only (``https://hooks.slack.com/…``)."""
    if secret is None:
        return None
    parts = urlsplit(secret.reveal())
    return f"{parts.scheme}://{parts.hostname}/…"


@dataclass(frozen=True, slots=True)
class Event:
    """One thing to tell the team: ``(event, subject)`` identifies it for once-only."""

    event: str
    subject: str
    title: str
    text: str


def payload(event: Event, fmt: str) -> dict:
    """The JSON body for Slack (``{"text": …}``) or a Teams MessageCard."""
    if fmt == "teams":
        return {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": event.title,
            "themeColor": "D83B01" if event.event != "campaign_finished" else "0078D7",
            "title": event.title,
            "text": event.text,
        }
    return {"text": f"*{event.title}*\n{event.text}"}


def _counts_text(counts: dict[str, int]) -> str:
    order = ("delivered", "accepted", "failed", "cancelled", "unknown", "queued", "sending")
    return "、".join(f"{t(f'message.{s}')} {counts[s]:,}" for s in order if counts.get(s))


def _ratio_setting(session, key: str) -> float:
    # Normalised again: an environment value may be written "10%".
    return float(SETTINGS[key].normalise(effective(session, key).value))


def due_events(engine: Engine, *, now: datetime | None = None) -> list[Event]:
    """Events of the last :data:`WINDOW` not yet claimed by a notification row."""
    now = now or now_utc()
    since = now - WINDOW
    with transaction(read_only(engine)) as s:
        failure_ratio = _ratio_setting(s, "notify_failure_ratio")
        quota_ratio = _ratio_setting(s, "notify_quota_ratio")
        seen = set(s.execute(select(Notification.event, Notification.subject)).all())
        campaigns = s.execute(
            select(Campaign.id, Campaign.name, Campaign.state).where(
                (Campaign.finished_at >= since)
                | (Campaign.state == "sending")
                | ((Campaign.state == "cancelled") & (Campaign.cancelled_at >= since))
            )
        ).all()
        events: list[Event] = []
        for campaign_id, name, state in campaigns:
            counts = dict(
                s.execute(
                    select(Message.state, func.count())
                    .where(Message.campaign_id == campaign_id)
                    .group_by(Message.state)
                ).all()
            )
            total = sum(counts.values())
            subject = str(campaign_id)
            if state == "finished" and ("campaign_finished", subject) not in seen:
                events.append(
                    Event(
                        "campaign_finished",
                        subject,
                        t("notify.finished.title", id=campaign_id, name=name),
                        t("notify.counts", total=total, counts=_counts_text(counts)),
                    )
                )
            failed = counts.get("failed", 0)
            if (
                total
                and failed
                and failed / total > failure_ratio
                and ("failures_high", subject) not in seen
            ):
                events.append(
                    Event(
                        "failures_high",
                        subject,
                        t("notify.failures.title", id=campaign_id, name=name),
                        t(
                            "notify.failures",
                            failed=failed,
                            total=total,
                            ratio=failed / total,
                            threshold=failure_ratio,
                        ),
                    )
                )
        month = quota.current_month(now)
        status = quota.remaining(s, month)
        subject = quota.format_month(month)
        if (
            status.cap
            and status.remaining / status.cap < quota_ratio
            and ("quota_low", subject) not in seen
        ):
            events.append(
                Event(
                    "quota_low",
                    subject,
                    t("notify.quota.title", month=subject),
                    t(
                        "notify.quota",
                        remaining=status.remaining,
                        cap=status.cap,
                        threshold=quota_ratio,
                    ),
                )
            )
    return events


class Notifier:
    """Finds due events and posts each once; :meth:`kick` runs a pass in the background."""

    def __init__(
        self,
        engine: Engine,
        *,
        url: Secret | None = None,
        interval: float = INTERVAL_SECONDS,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.engine = engine
        self._url = url
        self.interval = interval
        self.timeout = timeout
        self._thread: threading.Thread | None = None
        self._next = 0.0
        # Made at the first post: a worker without a webhook never loads requests.
        self._session: requests.Session | None = None

    def url(self) -> Secret | None:
        """The webhook URL given, else the configured one (read on each pass)."""
        return self._url or webhook_url()

    def run_once(self, *, now: datetime | None = None) -> list[Event]:
        """Post every due event (and retry failed posts); returns the events posted.

        Without a webhook URL nothing is claimed or posted.
        """
        url = self.url()
        if url is None:
            return []
        with transaction(read_only(self.engine)) as s:
            fmt = effective(s, "notify_format").value
        posted = []
        for event in due_events(self.engine, now=now):
            row_id = self._claim(event)
            if row_id is not None and self._post(row_id, event, url, fmt):
                posted.append(event)
        for row_id, event in self._retries():
            if self._post(row_id, event, url, fmt):
                posted.append(event)
        return posted

    def _claim(self, event: Event) -> int | None:
        try:
            with transaction(self.engine) as s:
                row = Notification(
                    event=event.event,
                    subject=event.subject,
                    state="sending",
                    attempts=1,
                    text=f"{event.title}\n{event.text}",
                    created_at=now_utc(),
                )
                s.add(row)
                s.flush()
                return row.id
        except IntegrityError:
            return None  # another worker claimed it first

    def _retries(self) -> list[tuple[int, Event]]:
        claimed = []
        with transaction(self.engine) as s:
            rows = s.execute(
                select(Notification.id, Notification.event, Notification.subject, Notification.text)
                .where(Notification.state == "failed", Notification.attempts < MAX_ATTEMPTS)
                .limit(20)
            ).all()
            for row_id, event, subject, text in rows:
                moved = rowcount(
                    s.execute(
                        update(Notification)
                        .where(Notification.id == row_id, Notification.state == "failed")
                        .values(state="sending", attempts=Notification.attempts + 1)
                    )
                )
                if moved:
                    title, _, body = text.partition("\n")
                    claimed.append((row_id, Event(event, subject, title, body)))
        return claimed

    def _post(self, row_id: int, event: Event, url: Secret, fmt: str) -> bool:
        import requests

        error = None
        _hide(url)
        if self._session is None:
            self._session = requests.Session()
        try:
            response = self._session.post(
                url.reveal(), json=payload(event, fmt), timeout=self.timeout
            )
            if response.status_code >= 300:
                error = f"HTTP {response.status_code}"
        except requests.RequestException as exc:
            # The exception's text may hold the URL: keep only its kind.
            error = type(exc).__name__
        with transaction(self.engine) as s:
            s.execute(
                update(Notification)
                .where(Notification.id == row_id)
                .values(
                    state="failed" if error else "sent",
                    error=error,
                    sent_at=None if error else now_utc(),
                )
            )
        if error:
            log.warning("team notification %s %s not posted: %s", event.event, event.subject, error)
        return error is None

    def kick(self) -> bool:
        """Start a pass in a background thread if one is due and none is running."""
        if time.monotonic() < self._next or (self._thread and self._thread.is_alive()):
            return False
        self._next = time.monotonic() + self.interval
        self._thread = threading.Thread(target=self._safe_pass, name="notify", daemon=True)
        self._thread.start()
        return True

    def _safe_pass(self) -> None:
        try:
            self.run_once()
        except Exception as exc:  # never let a notification problem reach dispatch
            # The kind only: a message could quote the webhook URL.
            log.error("team notifications: a pass failed (%s)", type(exc).__name__)

    def close(self, timeout: float = TIMEOUT_SECONDS + 1) -> None:
        """Wait briefly for a pass in flight, then close the HTTP session."""
        if self._thread is not None:
            self._thread.join(timeout)
        if self._session is not None:
            self._session.close()
