"""The one exception tree of sms_core.

Every error the product raises on purpose derives from :class:`SmsError`. Each carries a
stable code (``key``, e.g. ``roster.empty``) and the values its text needs (``params``);
its message is the English text, for logs and the English command line, and
:func:`sms_core.i18n.error_text` renders it in the user's language (Japanese by
default). Adapters (CSV parsing, Excel, providers, the database) catch their library's
errors and re-raise one of these, so callers — the CLI, the worker, the dashboard — need
to catch only ``SmsError``.

    SmsError
    ├── InputError            bad input from a person: a file, a body, an argument
    │   ├── RosterError       a roster file that cannot be used (names row and column)
    │   └── TemplateError     a message body that cannot be rendered (unknown tag, …)
    ├── ConfigError           the product is set up wrongly (environment, settings)
    ├── QuotaError            a send does not fit the contract's remaining units (R18)
    ├── StateError            an action that the record's state does not allow
    └── ProviderError         an SMS provider refused or failed a request
        ├── ProviderTransient     certainly not processed: safe to retry later
        ├── ProviderAmbiguous     may have been processed: never resend blindly
        └── ProviderPermanent     rejected for good, with the provider's reason
"""

from __future__ import annotations


class SmsError(Exception):
    """Base of every error sms_core raises on purpose; ``str(err)`` is its English text.

    ``key`` is its stable code (a class default, or one given where it is raised) and
    ``params`` the values the catalogue's texts for that code are formatted with.
    """

    key: str = "error"

    def __init__(self, message: str = "", *, key: str | None = None, **params: object) -> None:
        super().__init__(message)
        if key is not None:
            self.key = key
        self.params: dict[str, object] = params


class InputError(SmsError):
    """Input given by a person is unusable; nothing was saved."""

    key = "input"


class RosterError(InputError):
    """A roster file cannot be used.

    ``row`` is the spreadsheet row (the header is row 1, the first candidate row 2) and
    ``column`` the header as written in the file, when the problem has one.
    """

    key = "roster"

    def __init__(
        self,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
        key: str | None = None,
        **params: object,
    ):
        where = []
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {message}" if where else message, key=key, **params)
        self.row = row
        self.column = column
        self.reason = message


class TemplateError(InputError):
    """A message body cannot be rendered, e.g. it names a merge tag the roster lacks."""

    key = "template"


class TemplateExistsError(InputError):
    """A template of that name exists and the caller did not ask to overwrite it (R12)."""


class ConfigError(SmsError):
    """The product's configuration is wrong (an environment variable, a setting)."""

    key = "config"


class QuotaError(SmsError):
    """A send does not fit in the month's remaining units; nothing was reserved (R18)."""

    key = "quota"

    def __init__(
        self,
        message: str,
        *,
        needed: int = 0,
        remaining: int = 0,
        key: str | None = None,
        **params: object,
    ):
        super().__init__(message, key=key, needed=needed, remaining=remaining, **params)
        self.needed = needed
        self.remaining = remaining
        self.params.setdefault("shortfall", self.shortfall)

    @property
    def shortfall(self) -> int:
        """Units missing for the send to fit."""
        return max(self.needed - self.remaining, 0)


class AccessError(SmsError):
    """Who is acting may not do this: not logged in, a wrong password, or a role that lacks
    the permission. The message names the permission, never a secret."""

    key = "access"


class StateError(SmsError):
    """The action is not allowed in the record's current state (e.g. cancel a sent campaign)."""

    key = "state"


class ProviderError(SmsError):
    """An SMS provider failed a request; ``code`` is the provider's own code, if any."""

    key = "provider"

    def __init__(
        self, message: str, *, code: str | None = None, key: str | None = None, **params: object
    ):
        super().__init__(message, key=key, **params)
        self.code = code


class ProviderTransient(ProviderError):
    """The request was certainly not processed (connection refused, 429, …): retry later.

    ``retry_after`` is the provider's requested wait in seconds, when it said one.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        retry_after: float | None = None,
        key: str | None = None,
        **params: object,
    ):
        super().__init__(message, code=code, key=key, **params)
        self.retry_after = retry_after


class ProviderAmbiguous(ProviderError):
    """The provider may have processed the request (timeout, 5xx, dropped connection).

    The message is ``unknown`` until a lookup settles it; it is never resent blindly.
    """


class ProviderPermanent(ProviderError):
    """The provider rejected the message for good; ``str(err)`` carries its reason."""
