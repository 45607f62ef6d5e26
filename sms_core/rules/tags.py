"""Merge tags and short-URL tags in a message body (R10, R11).

``{{氏名}}`` / ``{{name}}`` insert a roster column; ``{{url:https://…}}`` inserts a short
URL to that target, and a tag naming a column whose values are URLs does the same per
recipient; ``{{optout}}`` (``{{配信停止URL}}``) inserts the recipient's own opt-out link
(issue 12): a short URL like the others — costed the same — whose target is
:data:`OPTOUT_TARGET`, which the link service answers with a confirmation page instead of
a redirect. Every short URL has the same length — the base plus a code of
:data:`SHORT_CODE_LENGTH` characters — so the preview can count a placeholder of exactly
that length before any code exists.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sms_core.errors import ConfigError, TemplateError

if TYPE_CHECKING:
    # Only for annotations: the settings and the command line read this module's
    # constants, and must not pay for pyarrow (the roster's) on start.
    from sms_core.rules.roster import Roster

TAG_RE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
# Codes are random base62: 62**8 ≈ 2.2e14 possible links, far past guessing at any rate a
# redirect service allows, yet short enough to keep an SMS within its 70-character unit.
SHORT_CODE_LENGTH = 8
# The link service of `make run` listens here; teams set SMS_SHORT_URL_BASE to their domain.
DEFAULT_SHORT_URL_BASE = "http://localhost:8600/s/"
_PLACEHOLDER_CHAR = "X"
_URL_VALUE = r"^https?://[^\s]+$"  # a URL tag's target

TEXT, COLUMN, URL, URL_COLUMN = "text", "column", "url", "url_column"
# The target of an opt-out link: not a web address, so it is never redirected to.
OPTOUT_TARGET = "optout:"
# The tag names of the opt-out link (English and Japanese).
OPTOUT_TAGS = ("optout", "配信停止url")


@dataclass(frozen=True, slots=True)
class Piece:
    """One piece of a body: literal ``text``, a ``column`` value, or a short ``url``."""

    kind: str
    value: str  # the literal text, the file header, or the URL target
    tag: str = ""  # the tag as written, for flags and errors


def short_url_base(base: str | None = None) -> str:
    """The configured short-URL base: the argument, else ``SMS_SHORT_URL_BASE``, else default."""
    base = base or os.environ.get("SMS_SHORT_URL_BASE") or DEFAULT_SHORT_URL_BASE
    if not re.match(r"^https?://[^\s/]+", base):
        raise ConfigError(
            f"the short URL base '{base}' must start with http:// or https://",
            key="settings.short_url",
            base=base,
        )
    return base if base.endswith("/") else base + "/"


def placeholder_url(base: str | None = None) -> str:
    """What the preview shows for a short URL: exactly as long as a real one will be."""
    return short_url_base(base) + _PLACEHOLDER_CHAR * SHORT_CODE_LENGTH


def tags_in(body: str) -> list[str]:
    """The tag names a body uses, in order, as written (without braces)."""
    return [m.group(1).strip() for m in TAG_RE.finditer(body)]


def parse_body(body: str, roster: Roster) -> tuple[Piece, ...]:
    """Split ``body`` into pieces, resolving each tag against ``roster``'s columns.

    Raises :class:`TemplateError` for an unknown tag (listing the available ones), an
    empty or unclosed tag, or a URL tag whose target is not an http(s) URL.
    """
    pieces: list[Piece] = []
    position = 0
    for match in TAG_RE.finditer(body):
        if match.start() > position:
            pieces.append(Piece(TEXT, body[position : match.start()]))
        pieces.append(_resolve(match.group(1).strip(), roster))
        position = match.end()
    rest = body[position:]
    if "{{" in rest:
        raise TemplateError(
            "a merge tag is opened with '{{' but never closed with '}}'", key="template.unclosed"
        )
    if rest:
        pieces.append(Piece(TEXT, rest))
    return tuple(pieces)


def _resolve(tag: str, roster: Roster) -> Piece:
    if not tag:
        raise TemplateError("an empty merge tag '{{}}' is in the message", key="template.empty_tag")
    if tag.lower() in OPTOUT_TAGS and roster.resolve_tag(tag) is None:
        return Piece(URL, OPTOUT_TARGET, tag)
    if tag.lower().startswith("url:"):
        target = tag[4:].strip()
        if not re.match(_URL_VALUE, target):
            raise TemplateError(
                f"the URL tag '{{{{{tag}}}}}' needs an http:// or https:// address",
                key="template.url_address",
                tag=tag,
            )
        return Piece(URL, target, tag)
    header = roster.resolve_tag(tag)
    if header is None:
        available = ", ".join(f"{{{{{name}}}}}" for name in roster.tag_names())
        raise TemplateError(
            f"unknown merge tag '{{{{{tag}}}}}'; available: {available}",
            key="template.unknown_tag",
            tag=tag,
            available=available,
        )
    kind = URL_COLUMN if column_holds_urls(roster, header) else COLUMN
    return Piece(kind, header, tag)


def has_optout_tag(body: str) -> bool:
    """Whether ``body`` holds the opt-out link tag ``{{optout}}`` / ``{{配信停止URL}}``."""
    return any(name.lower() in OPTOUT_TAGS for name in tags_in(body))


# A body that looks like advertising (特定電子メール法: such messages need a way to opt out).
_PROMOTIONAL = re.compile(
    r"https?://|キャンペーン|セール|特典|プレゼント|限定|割引|無料|募集中|ご招待|お得|今だけ"
)


def suggests_optout(body: str) -> bool:
    """True when ``body`` has a URL or looks promotional but no opt-out link tag.

    New send then suggests adding ``{{optout}}``: under Japan's 特定電子メール法,
    advertising messages must offer a way to opt out.
    """
    return bool(_PROMOTIONAL.search(body)) and not has_optout_tag(body)


def column_holds_urls(roster: Roster, header: str) -> bool:
    """True when every non-empty value of the column is an http(s) URL (R11)."""
    import pyarrow.compute as pc  # here, not on import: see the Roster import above

    def compute() -> bool:
        values = roster.text(header)
        filled = pc.not_equal(values, "")
        if not pc.any(filled).as_py():
            return False
        url = pc.or_(pc.starts_with(values, "https://"), pc.starts_with(values, "http://"))
        return bool(pc.all(pc.or_(url, pc.invert(filled))).as_py())

    return roster.memo(("holds_urls", header), compute)
