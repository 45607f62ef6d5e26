"""The candidate's own opt-out link (issue 12): a confirmation page, then a POST.

``{{optout}}`` gives each recipient a short link whose target is
:data:`~sms_core.rules.tags.OPTOUT_TARGET`. Following it (GET) shows a Japanese page that
asks the candidate to confirm; nothing is recorded then, so link previewers, mail and
chat scanners and HEAD requests never opt anyone out. Only the form's POST does, and only
with the token of that very link: an HMAC of the code under the link service's key
(``SMS_LINK_SECRET``; a random key per process when unset — then a page must be posted
back to the process that served it, so set it when several processes serve links). The
number is the one the message went to, read from the campaign; the entry's source is
``link``, and it is audited like every opt-out.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import os
import secrets

from sqlalchemy import select
from sqlalchemy.engine import Engine

from sms_core.errors import InputError
from sms_core.i18n import t
from sms_core.linkserver.clicks import Link
from sms_core.store.db import transaction
from sms_core.store.models import Message
from sms_core.store.suppression import add_optout

__all__ = ["OptOutPages", "link_key"]

ACTOR = "candidate (opt-out link)"


def link_key() -> bytes:
    """The key opt-out form tokens are signed with (``SMS_LINK_SECRET``, else random)."""
    configured = os.environ.get("SMS_LINK_SECRET", "").strip()
    return configured.encode() if configured else secrets.token_bytes(32)


class OptOutPages:
    """The confirmation page and the POST that records an opt-out."""

    def __init__(self, engine: Engine, key: bytes | None = None) -> None:
        self.engine = engine
        self.key = key or link_key()

    def token(self, code: str) -> str:
        """The form token of the link ``code`` (it is valid for that link only)."""
        return hmac.new(self.key, f"optout:{code}".encode(), hashlib.sha256).hexdigest()

    def valid(self, code: str, token: str) -> bool:
        """Whether ``token`` is the form token of ``code``."""
        return hmac.compare_digest(self.token(code), token or "")

    def confirm_page(self, link: Link) -> bytes:
        """The page a GET shows: what will happen, and one button (a POST form)."""
        token = self.token(link.code)
        return _page(
            t("optout.page.title", "ja"),
            f"<p>{html.escape(t('optout.page.body', 'ja'))}</p>"
            f"<form method='post' action='/s/{html.escape(link.code)}'>"
            f"<input type='hidden' name='token' value='{token}'>"
            f"<button type='submit'>{html.escape(t('optout.page.button', 'ja'))}</button>"
            "</form>",
        )

    def record(self, link: Link) -> bool:
        """Put the number this link was sent to on the opt-out list; False if unknown."""
        with transaction(self.engine) as s:
            phone = s.scalar(
                select(Message.phone)
                .where(
                    Message.campaign_id == link.campaign_id,
                    Message.recipient_row == link.recipient_row,
                    Message.redacted_at.is_(None),
                )
                .limit(1)
            )
            if not phone:
                return False
            try:
                add_optout(
                    s,
                    phone,
                    f"opt-out link of campaign {link.campaign_id}",
                    actor=ACTOR,
                    source="link",
                )
            except InputError:
                return False
        return True

    @staticmethod
    def done_page() -> bytes:
        """The page after the opt-out was recorded."""
        return _page(
            t("optout.done.title", "ja"), f"<p>{html.escape(t('optout.done.body', 'ja'))}</p>"
        )

    @staticmethod
    def failed_page() -> bytes:
        """The page when the form is stale or the number is no longer known."""
        return _page(
            t("optout.failed.title", "ja"), f"<p>{html.escape(t('optout.failed.body', 'ja'))}</p>"
        )


def _page(title: str, body: str) -> bytes:
    return (
        "<!doctype html><html lang='ja'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<meta name='robots' content='noindex'>"
        f"<title>{html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>"
    ).encode()
