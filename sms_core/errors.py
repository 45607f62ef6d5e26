"""The one exception tree of sms_core.

Every error the product raises on purpose derives from :class:`SmsError`, and its
message is written to be shown to a user as it is. Adapters (CSV parsing, Excel,
providers, the database) catch their library's errors and re-raise one of these, so
callers — the CLI, the worker, the dashboard — need to catch only ``SmsError``.

    SmsError
    ├── InputError            bad input from a person: a file, a body, an argument
    │   ├── RosterError       a roster file that cannot be used (names row and column)
    │   └── TemplateError     a message body that cannot be rendered (unknown tag, …)
    └── ConfigError           the product is set up wrongly (environment, settings)
"""

from __future__ import annotations


class SmsError(Exception):
    """Base of every error sms_core raises on purpose; ``str(err)`` is fit for users."""


class InputError(SmsError):
    """Input given by a person is unusable; nothing was saved."""


class RosterError(InputError):
    """A roster file cannot be used.

    ``row`` is the spreadsheet row (the header is row 1, the first candidate row 2) and
    ``column`` the header as written in the file, when the problem has one.
    """

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None):
        where = []
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.row = row
        self.column = column
        self.reason = message


class TemplateError(InputError):
    """A message body cannot be rendered, e.g. it names a merge tag the roster lacks."""


class ConfigError(SmsError):
    """The product's configuration is wrong (an environment variable, a setting)."""
