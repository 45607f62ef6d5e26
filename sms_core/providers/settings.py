"""Provider settings: from the environment or ``.streamlit/secrets.toml``, never the database.

Each setting of a provider has one environment variable and one key in the provider's table
of the secrets file; the environment wins over the file::

    # .streamlit/secrets.toml
    [providers.karaden]
    token = "…"            # SMS_KARADEN_TOKEN
    tenant_id = "…"        # SMS_KARADEN_TENANT_ID
    service_id = 1         # SMS_KARADEN_SERVICE_ID

    [providers.twilio]
    account_sid = "AC…"    # SMS_TWILIO_ACCOUNT_SID
    auth_token = "…"       # SMS_TWILIO_AUTH_TOKEN
    from_number = "+81…"   # SMS_TWILIO_FROM (or messaging_service_sid)

Credentials are wrapped in :class:`Secret`, whose ``str``/``repr`` never show the value, so a
stray log line or f-string cannot leak them. Error messages name a missing setting, never a
value.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sms_core.errors import ConfigError

__all__ = [
    "DEFAULT_TIMEOUT",
    "SECRETS_FILE",
    "Secret",
    "Setting",
    "Timeout",
    "load_settings",
    "redact",
]

# Streamlit reads secrets from the working directory's .streamlit/, and so do we: the app,
# the worker and the CLI are all started from the project folder.
SECRETS_FILE = Path(".streamlit") / "secrets.toml"


@dataclass(frozen=True, slots=True)
class Timeout:
    """Seconds an HTTP adapter waits for a connection, and then for each read of the answer.

    Here, not in :mod:`sms_core.providers.transport`, so that the factory can name the
    defaults without importing ``requests`` in processes that never reach a real provider.
    """

    connect: float = 5.0
    read: float = 30.0

    def as_tuple(self) -> tuple[float, float]:
        """The ``(connect, read)`` pair ``requests`` takes."""
        return (self.connect, self.read)


DEFAULT_TIMEOUT = Timeout()


@dataclass(frozen=True, slots=True)
class Secret:
    """A credential; it shows as ``***`` everywhere except through :meth:`reveal`."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        """The credential itself, for the one place that must send it."""
        return self._value

    def __str__(self) -> str:
        return "***"

    def __repr__(self) -> str:
        return "Secret('***')"


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting of a provider: its key, environment variable and whether it is secret."""

    key: str
    env: str
    required: bool = False
    secret: bool = False
    default: str | None = None


def load_settings(
    provider: str,
    settings: tuple[Setting, ...],
    overrides: Mapping[str, object],
    *,
    environ: Mapping[str, str] | None = None,
    secrets_path: Path | str | None = None,
) -> dict[str, object]:
    """Resolve ``settings`` of ``provider``: overrides, then environment, then secrets file.

    Secret settings come only from the environment or the secrets file (an override naming one
    is refused), so code cannot pass along a credential kept somewhere else, e.g. the
    database. Returns plain strings, :class:`Secret` for secret settings, ``None`` for unset
    optional ones. Raises :class:`ConfigError` naming every missing required setting.
    """
    environ = os.environ if environ is None else environ
    known = {s.key for s in settings}
    for key in overrides:
        if key not in known:
            raise ConfigError(
                f"unknown setting '{key}' for provider '{provider}'; "
                f"known: {', '.join(sorted(known))}"
            )
    table = _secrets_table(provider, secrets_path)
    values: dict[str, object] = {}
    missing: list[Setting] = []
    for s in settings:
        if s.key in overrides and s.secret:
            raise ConfigError(
                f"the {provider} setting '{s.key}' is a credential: set it in the environment "
                f"({s.env}) or in {SECRETS_FILE}, not in code"
            )
        raw: object | None
        if s.key in overrides:
            raw = overrides[s.key]
        elif environ.get(s.env, "").strip():
            raw = environ[s.env].strip()
        elif s.key in table and str(table[s.key]).strip():
            raw = str(table[s.key]).strip()
        else:
            raw = s.default
        if raw is None:
            if s.required:
                missing.append(s)
            values[s.key] = None
            continue
        values[s.key] = Secret(str(raw)) if s.secret else raw
    if missing:
        names = "; ".join(
            f"'{s.key}' (environment {s.env} or [providers.{provider}] {s.key} in {SECRETS_FILE})"
            for s in missing
        )
        raise ConfigError(
            f"SMS provider '{provider}' is not configured: missing {names}",
            key="provider.not_configured",
            provider=provider,
        )
    return values


def _secrets_table(provider: str, path: Path | str | None) -> dict[str, object]:
    path = Path(path) if path is not None else SECRETS_FILE
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as e:
        # The decoder's message gives a line and column, never the text of the line.
        raise ConfigError(
            f"{path} is not valid TOML: {e}", key="provider.secrets_file", provider=provider
        ) from None
    except OSError as e:
        raise ConfigError(
            f"{path} cannot be read: {e.strerror}", key="provider.secrets_file", provider=provider
        ) from None
    table = data.get("providers", {}).get(provider, {})
    if not isinstance(table, dict):
        raise ConfigError(
            f"[providers.{provider}] in {path} must be a table",
            key="provider.secrets_file",
            provider=provider,
        )
    return table


def redact(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every occurrence of a secret value replaced by ``***``."""
    for value in secrets:
        # Very short values would blank out ordinary words; real credentials are long.
        if len(value) >= 4:
            text = text.replace(value, "***")
    return text
