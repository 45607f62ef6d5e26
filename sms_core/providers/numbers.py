"""Phone-number forms the providers want: national 11 digits (Karaden), E.164 (Twilio)."""

from __future__ import annotations

import re

from sms_core.errors import ProviderPermanent

__all__ = ["check_national", "mask", "to_e164"]

_NATIONAL = re.compile(r"0[0-9]{10}")


def check_national(to: str) -> str:
    """``to`` if it is an 11-digit national number, else ProviderPermanent (nothing is sent).

    The preview has already judged the number (R1); this only guards the wire format, so a
    bug upstream fails one message instead of reaching the provider.
    """
    if not _NATIONAL.fullmatch(to):
        raise ProviderPermanent(
            f"{to!r} is not an 11-digit national mobile number; nothing was sent",
            code="invalid_to",
        )
    return to


def to_e164(number: str) -> str:
    """A Japanese national number as E.164 (``09012345678`` → ``+819012345678``).

    Numbers already in international form (``+…``) are returned as they are.
    """
    if number.startswith("+"):
        return number
    return "+81" + check_national(number)[1:]


def mask(number: str) -> str:
    """A phone number for logs and messages: all but the last 4 digits hidden."""
    return "*" * max(len(number) - 4, 0) + number[-4:]
