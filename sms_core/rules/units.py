"""One message's newlines, length and billing units (rules R6, R7), without numpy or pyarrow.

The sandbox provider, the worker and the edit of a scheduled send judge single messages
with these; they are apart from :mod:`sms_core.rules.text` (which re-exports them, with
the splitting and the vectorised column counts) so that a process that never previews
does not load numpy and pyarrow on start.
"""

from __future__ import annotations

__all__ = ["MAX_MESSAGE_CHARS", "UNIT_CHARS", "normalize_newlines", "units_for_chars", "utf16_len"]

# R7: the contract bills 70 UTF-16 code units per unit (通), per message.
UNIT_CHARS = 70
# R8: the most characters one message may hold; longer texts are split.
MAX_MESSAGE_CHARS = 660


def normalize_newlines(text: str) -> str:
    """Return ``text`` with CRLF and lone CR turned into LF, as the message is sent (R6)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def utf16_len(text: str) -> int:
    """Return the length of ``text`` in UTF-16 code units: astral characters count 2 (R6)."""
    # surrogatepass: a lone surrogate (only possible in a Python str) counts 1, not an error.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def units_for_chars(chars: int) -> int:
    """Return the contract units (通) for one message of ``chars`` code units (R7).

    ``ceil(chars / 70)``; 0 for 0 (the caller decides whether an empty message is an error).
    """
    if chars < 0:
        raise ValueError(f"a length cannot be negative: {chars}")
    return -(-chars // UNIT_CHARS)
