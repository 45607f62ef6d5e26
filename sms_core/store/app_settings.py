"""Team-wide settings chosen in the dashboard: provider, quiet hours, short URL base (issue 6).

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
    "provider_in_use",
    "quiet_hours_in_use",
    "reset_setting",
    "set_setting",
    "short_url_base_in_use",
]

DATABASE, ENVIRONMENT, DEFAULT = "database", "environment", "default"


def _provider(value: str) -> str:
    from sms_core.providers.factory import PROVIDERS, get_provider

    name = value.strip().lower()
    if name not in PROVIDERS:
        raise InputError(f"unknown SMS provider '{value}'; choose one of: {', '.join(PROVIDERS)}", key="settings.provider_unknown", provider=value)  # noqa: E501
    # Built once here so a provider without its credentials is refused now, with the
    # missing setting named, instead of leaving the next send waiting for a worker that
    # cannot start it.
    get_provider(name).close()
    return name


def _quiet(value: str) -> str:
    quiet = QuietHours.parse(value)
    return f"{quiet.start:%H:%M}-{quiet.end:%H:%M}"


@dataclass(frozen=True, slots=True)
class _Spec:
    env: str
    default: str
    normalise: Callable[[str], str]


SETTINGS: dict[str, _Spec] = {
    "provider": _Spec("SMS_PROVIDER", "sandbox", _provider),
    "quiet_hours": _Spec("SMS_QUIET_HOURS", DEFAULT_QUIET_HOURS, _quiet),
    "short_url_base": _Spec("SMS_SHORT_URL_BASE", DEFAULT_SHORT_URL_BASE, short_url_base),
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
        raise InputError(f"'{key}' is not a setting; settings are: {', '.join(SETTINGS)}", key="settings.unknown")  # noqa: E501
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
    environ = os.environ if environ is None else environ
    rows = {r.key: r for r in session.scalars(select(AppSetting))}
    return {key: _resolve(key, rows.get(key), environ) for key in SETTINGS}


def set_setting(session: Session, key: str, value: str, *, actor: str) -> EffectiveSetting:
    """Store ``value`` for ``key`` after checking it; audited with the old and new value.

    Raises InputError or ConfigError, naming what is wrong, for a value that cannot be
    used (an unknown provider or one whose credentials are missing, quiet hours not like
    21:00-08:00, a short URL base that is not http(s)).
    """
    spec = _spec(key)
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"give a value for {key}, or reset it to use {spec.env}", key="settings.empty")  # noqa: E501
    try:
        normalised = spec.normalise(value.strip())
    except ConfigError as exc:
        raise ConfigError(f"{key}: {exc}", key=exc.key if "." in exc.key else "settings.invalid", **exc.params) from None  # noqa: E501
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
