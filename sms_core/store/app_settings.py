"""Team-wide settings chosen in the dashboard: provider, quiet hours, short URL base (issue 6),
frequency cap (issue 12).

Each setting has an environment variable, which is its default: a fresh laptop runs on
the environment alone. Once an admin stores a value in Settings it lives in the
``app_setting`` table, so every process — dashboards, workers on other machines, the CLI —
uses the same choice; clearing it there returns to the environment. Credentials are not
settings: they stay in the environment or ``secrets.toml`` (a provider can be chosen here
only when its credentials are already configured where the processes run).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from sms_core.clock import now_utc
from sms_core.errors import ConfigError, InputError
from sms_core.rules.schedule import DEFAULT_QUIET_HOURS, QuietHours
from sms_core.rules.tags import DEFAULT_SHORT_URL_BASE, short_url_base
from sms_core.store.db import read_only, transaction
from sms_core.store.models import AppSetting, audit

__all__ = [
    "SETTINGS",
    "EffectiveSetting",
    "effective",
    "effective_all",
    "frequency_cap_in_use",
    "frequency_cap_of",
    "provider_in_use",
    "quiet_hours_and_cap_of",
    "quiet_hours_in_use",
    "reset_setting",
    "set_setting",
    "short_url_base_in_use",
    "unit_price_yen_in_use",
]

DATABASE, ENVIRONMENT, DEFAULT = "database", "environment", "default"


def _provider(value: str) -> str:
    from sms_core.providers.factory import PROVIDERS, get_provider

    name = value.strip().lower()
    if name not in PROVIDERS:
        raise InputError(
            f"unknown SMS provider '{value}'; choose one of: {', '.join(PROVIDERS)}",
            key="settings.provider_unknown",
            provider=value,
        )
    # Built once here so a provider without its credentials is refused now, with the
    # missing setting named, instead of leaving the next send waiting for a worker that
    # cannot start it.
    get_provider(name).close()
    return name


def _quiet(value: str) -> str:
    quiet = QuietHours.parse(value)
    return f"{quiet.start:%H:%M}-{quiet.end:%H:%M}"


# At most this many messages per number per Japan-time day, across campaigns (issue 12).
DEFAULT_FREQUENCY_CAP = 3
MAX_FREQUENCY_CAP = 100


def _frequency_cap(value: str) -> str:
    try:
        cap = int(value.strip())
    except ValueError:
        raise InputError(
            f"the frequency cap is a whole number of messages a day, not '{value}'",
            key="settings.frequency_cap",
            value=value,
            max=MAX_FREQUENCY_CAP,
        ) from None
    if not 1 <= cap <= MAX_FREQUENCY_CAP:
        raise InputError(
            f"the frequency cap must be between 1 and {MAX_FREQUENCY_CAP}",
            key="settings.frequency_cap",
            value=value,
            max=MAX_FREQUENCY_CAP,
        )
    return str(cap)


def _yen(value: str) -> str:
    # Yen per unit (円/通): contracts quote whole yen or sen (e.g. 8, 7.5); never negative.
    from decimal import Decimal, InvalidOperation

    try:
        price = Decimal(value.replace(",", "").replace("円", "").strip())
    except InvalidOperation:
        raise InputError(
            f"a unit price is yen per unit, e.g. 8 or 7.5, not '{value}'",
            key="settings.unit_price",
            value=value,
        ) from None
    if not price.is_finite() or price < 0 or price > 10_000 or price != round(price, 2):
        raise InputError(
            f"a unit price is 0 to 10,000 yen with at most 2 decimals, not '{value}'",
            key="settings.unit_price_range",
            value=value,
            max=10_000,
        )
    return format(price.normalize(), "f")


def _notify_format(value: str) -> str:
    name = value.strip().lower()
    if name not in ("slack", "teams"):
        raise InputError(
            f"the notification format is slack or teams, not '{value}'",
            key="settings.notify_format",
            value=value,
        )
    return name


def _ratio(value: str) -> str:
    # A share written as 0.1 or 10%.
    text = value.strip()
    try:
        ratio = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise InputError(
            f"a threshold is a share such as 0.1 or 10%, not '{value}'",
            key="settings.threshold",
            value=value,
        ) from None
    if not 0 <= ratio <= 1:
        raise InputError(
            f"a threshold is between 0 and 1 (0% to 100%), not '{value}'",
            key="settings.threshold_range",
            value=value,
        )
    return f"{ratio:g}"


@dataclass(frozen=True, slots=True)
class _Spec:
    env: str
    default: str
    normalise: Callable[[str], str]


SETTINGS: dict[str, _Spec] = {
    "provider": _Spec("SMS_PROVIDER", "sandbox", _provider),
    "quiet_hours": _Spec("SMS_QUIET_HOURS", DEFAULT_QUIET_HOURS, _quiet),
    "short_url_base": _Spec("SMS_SHORT_URL_BASE", DEFAULT_SHORT_URL_BASE, short_url_base),
    "frequency_cap": _Spec("SMS_FREQUENCY_CAP", str(DEFAULT_FREQUENCY_CAP), _frequency_cap),
    # Issue 16: cost in yen, and the team chat notifications (the webhook URL itself is a
    # secret: SMS_NOTIFY_WEBHOOK_URL or secrets.toml, see sms_core.sending.notify).
    "unit_price_yen": _Spec("SMS_UNIT_PRICE_YEN", "0", _yen),
    "notify_format": _Spec("SMS_NOTIFY_FORMAT", "slack", _notify_format),
    "notify_failure_ratio": _Spec("SMS_NOTIFY_FAILURE_RATIO", "0.1", _ratio),
    "notify_quota_ratio": _Spec("SMS_NOTIFY_QUOTA_RATIO", "0.1", _ratio),
}


@dataclass(frozen=True, slots=True)
class EffectiveSetting:
    """A setting's value in use and where it comes from (database, environment, default)."""

    key: str
    value: str
    source: str
    env: str
    updated_by: str | None = None
    updated_at: datetime | None = None


def _spec(key: str) -> _Spec:
    if key not in SETTINGS:
        raise InputError(
            f"'{key}' is not a setting; settings are: {', '.join(SETTINGS)}", key="settings.unknown"
        )
    return SETTINGS[key]


def _resolve(key: str, row: AppSetting | None, environ: Mapping[str, str]) -> EffectiveSetting:
    spec = _spec(key)
    if row is not None:
        return EffectiveSetting(key, row.value, DATABASE, spec.env, row.updated_by, row.updated_at)
    from_env = environ.get(spec.env, "").strip()
    if from_env:
        return EffectiveSetting(key, from_env, ENVIRONMENT, spec.env)
    return EffectiveSetting(key, spec.default, DEFAULT, spec.env)


def effective(
    session: Session, key: str, *, environ: Mapping[str, str] | None = None
) -> EffectiveSetting:
    """The value of ``key`` in use: stored in the database, else the environment, else default."""
    environ = os.environ if environ is None else environ
    return _resolve(key, session.get(AppSetting, key), environ)


def effective_all(
    session: Session, *, environ: Mapping[str, str] | None = None
) -> dict[str, EffectiveSetting]:
    """Every setting, as :func:`effective` gives it, in one query."""
    return _effective_of(session, tuple(SETTINGS), environ)


def _effective_of(
    session: Session, keys: tuple[str, ...], environ: Mapping[str, str] | None = None
) -> dict[str, EffectiveSetting]:
    environ = os.environ if environ is None else environ
    query = select(AppSetting)
    if len(keys) < len(SETTINGS):
        query = query.where(AppSetting.key.in_(keys))
    rows = {r.key: r for r in session.scalars(query)}
    return {key: _resolve(key, rows.get(key), environ) for key in keys}


def set_setting(session: Session, key: str, value: str, *, actor: str) -> EffectiveSetting:
    """Store ``value`` for ``key`` after checking it; audited with the old and new value.

    Raises InputError or ConfigError, naming what is wrong, for a value that cannot be
    used (an unknown provider or one whose credentials are missing, quiet hours not like
    21:00-08:00, a short URL base that is not http(s)).
    """
    spec = _spec(key)
    if not isinstance(value, str) or not value.strip():
        raise InputError(
            f"give a value for {key}, or reset it to use {spec.env}", key="settings.empty"
        )
    try:
        normalised = spec.normalise(value.strip())
    except ConfigError as exc:
        raise ConfigError(
            f"{key}: {exc}", key=exc.key if "." in exc.key else "settings.invalid", **exc.params
        ) from None
    before = effective(session, key)
    row = session.get(AppSetting, key)
    now = now_utc()
    if row is None:
        session.add(AppSetting(key=key, value=normalised, updated_by=actor, updated_at=now))
    else:
        row.value, row.updated_by, row.updated_at = normalised, actor, now
    session.flush()
    audit(session, actor, "settings.change", key=key, old=before.value, new=normalised)
    return effective(session, key)


def reset_setting(session: Session, key: str, *, actor: str) -> bool:
    """Forget the stored value of ``key`` (the environment's applies again); False if none."""
    _spec(key)
    before = session.get(AppSetting, key)
    if before is None:
        return False
    old = before.value
    session.execute(delete(AppSetting).where(AppSetting.key == key))
    audit(session, actor, "settings.reset", key=key, old=old)
    return True


def _read(engine: Engine, key: str) -> str:
    with transaction(read_only(engine)) as session:
        return effective(session, key).value


def provider_in_use(engine: Engine) -> str:
    """The provider new sends go through (setting ``provider``)."""
    return _read(engine, "provider")


def quiet_hours_in_use(engine: Engine) -> QuietHours:
    """The quiet hours new sends respect (setting ``quiet_hours``)."""
    return QuietHours.parse(_read(engine, "quiet_hours"))


def short_url_base_in_use(engine: Engine) -> str:
    """The base of short URLs new sends count and create (setting ``short_url_base``)."""
    return short_url_base(_read(engine, "short_url_base"))


def frequency_cap_of(session: Session) -> int:
    """The frequency cap in use, read in ``session`` (the worker's claim transaction)."""
    return int(_frequency_cap(effective(session, "frequency_cap").value))


def quiet_hours_and_cap_of(session: Session) -> tuple[QuietHours, int]:
    """The quiet hours and the frequency cap in use, read in ``session`` with one query
    (the worker's claim transaction reads both before every claim)."""
    both = _effective_of(session, ("quiet_hours", "frequency_cap"))
    quiet, cap = both["quiet_hours"].value, both["frequency_cap"].value
    return QuietHours.parse(quiet), int(_frequency_cap(cap))


def frequency_cap_in_use(engine: Engine) -> int:
    """Messages per number per Japan-time day, across campaigns (setting ``frequency_cap``)."""
    return int(_frequency_cap(_read(engine, "frequency_cap")))


def unit_price_yen_in_use(engine: Engine):
    """Yen per unit (円/通) as a Decimal (setting ``unit_price_yen``; 0 until set)."""
    from decimal import Decimal

    return Decimal(_yen(_read(engine, "unit_price_yen")))
