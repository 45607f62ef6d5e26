"""An imitation of the Karaden SMS API (version 2023-01-01) on 127.0.0.1.

Routes under ``{url}/api`` (so an adapter's base URL is ``server.base_url``):
``POST /{tenant}/messages`` (form ``service_id``, ``to``, ``body``, ``tags[]``; answers 200
with the message object), ``GET /{tenant}/messages/{id}``, ``GET /{tenant}/messages`` (filters
``tag``, ``to``, ``status``; ``page`` from 1, ``per_page`` ≤ 100; ``{object: "list", data,
has_more}``, newest first) and ``POST /{tenant}/messages/{id}/cancel`` (only while waiting).

Requests need ``Authorization: Bearer <token>`` (else 401), the configured tenant (else 403)
and ``Karaden-Version: 2023-01-01`` (else 400); errors are ``{object: "error", code,
message, errors}``. Karaden does not publish its error code values; the ones here are ours.

A message is ``waiting``/``processing`` when created, ``done``/``processing`` after half the
delivery delay and final after it: ``sent_result`` ``received``, or what ``outcomes`` says for
its number (by default 080-9999-0002 → ``unconnected``, 080-9999-0005 → status ``error``,
080-9999-0006 → ``unknown``).

Run alone: ``python -m tests.integration.fakes.karaden_server --port N [--token T]``.
"""

from __future__ import annotations

import argparse
import re
import sys
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

from tests.integration.fakes.server import FakeHandler, FakeServer, Request, Response, run_cli

__all__ = ["KaradenServer"]

JST = timezone(timedelta(hours=9))
API_VERSION = "2023-01-01"
DEFAULT_OUTCOMES = {
    "08099990002": "unconnected",
    "08099990005": "status_error",
    "08099990006": "unknown",
}
_CODES = {
    400: ("bad_request", "リクエストが不正です。"),
    401: ("unauthorized", "認証に失敗しました。トークンを確認してください。"),
    403: ("forbidden", "このテナントへのアクセス権限がありません。"),
    404: ("not_found", "指定されたリソースが見つかりません。"),
    422: ("unprocessable_entity", "入力内容に誤りがあります。"),
    429: ("too_many_requests", "リクエスト数が上限を超えました。"),
    500: ("internal_server_error", "サーバーエラーが発生しました。"),
    503: ("service_unavailable", "メンテナンス中です。"),
}
_MOBILE = re.compile(r"0[6789]0[0-9]{8}")
_CARRIERS = ("docomo", "au", "softbank", "rakuten")


class KaradenServer(FakeServer):
    """The Karaden imitation; see the module docstring."""

    name = "karaden"
    handler_class = FakeHandler
    routes: ClassVar[list[tuple[str, str, str, str]]] = [
        ("POST", r"/api/(?P<tenant>[^/]+)/messages", "send", "create"),
        ("GET", r"/api/(?P<tenant>[^/]+)/messages", "lookup", "list_messages"),
        ("GET", r"/api/(?P<tenant>[^/]+)/messages/(?P<id>[^/]+)", "lookup", "detail"),
        ("POST", r"/api/(?P<tenant>[^/]+)/messages/(?P<id>[^/]+)/cancel", "cancel", "cancel"),
    ]

    def __init__(
        self,
        *,
        token: str = "karaden-test-token",
        tenant_id: str = "tenant-0001",
        service_ids: tuple[int, ...] = (1, 2),
        outcomes: dict[str, str] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        self.token = token
        self.tenant_id = tenant_id
        self.service_ids = service_ids
        self.outcomes = {**DEFAULT_OUTCOMES, **(outcomes or {})}
        self.tag_counts: Counter[str] = Counter()

    @property
    def base_url(self) -> str:
        """The adapter's base URL (``…/api``)."""
        return self.url + "/api"

    def tag_duplicates(self) -> dict[str, int]:
        """Tags (our client references) carried by more than one message."""
        with self.lock:
            return {tag: n for tag, n in self.tag_counts.items() if n > 1}

    # --- protocol ----------------------------------------------------------------------

    def error(
        self, status: int, message: str | None = None, code: Any = None, **extra: Any
    ) -> Response:
        """``{object: "error", code, message, errors}``."""
        default_code, default_message = _CODES.get(status, ("error", "エラーが発生しました。"))
        body = {
            "object": "error",
            "code": code or default_code,
            "message": message or default_message,
            "errors": extra.get("errors", {}),
        }
        return Response(status, body)

    def authenticate(self, req: Request, match: re.Match[str]) -> Response | None:
        """Bearer token, tenant and API version, in that order."""
        if req.headers.get("Authorization") != f"Bearer {self.token}":
            return self.error(401)
        if match["tenant"] != self.tenant_id:
            return self.error(403)
        if req.headers.get("Karaden-Version") != API_VERSION:
            return self.error(400, f"Karaden-Version には {API_VERSION} を指定してください。")
        return None

    def create(self, req: Request, match: re.Match[str]) -> Response:
        """SMS送信: validate, store, answer the message object."""
        if not req.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return self.error(400, "Content-Type は application/x-www-form-urlencoded です。")
        form = req.form
        service_id = _first(form, "service_id")
        to = _first(form, "to")
        body = _first(form, "body")
        tags = form.get("tags[]", [])
        errors: dict[str, list[str]] = {}
        if not service_id.isdigit() or int(service_id) not in self.service_ids:
            errors["service_id"] = ["サービス設定IDが存在しません。"]
        if not _MOBILE.fullmatch(to):
            errors["to"] = ["送信先番号には携帯電話番号を11桁の数字で指定してください。"]
        if not body:
            errors["body"] = ["本文は必須です。"]
        elif _utf16_len(body) > 660:
            errors["body"] = ["本文は660文字以内で指定してください。"]
        if errors:
            return self.error(422, errors=errors)
        now = self.now()
        record = {
            "id": str(uuid.uuid4()),
            "object": "message",
            "service_id": int(service_id),
            "billing_address_id": 1,
            "to": to,
            "body": body,
            "tags": tags,
            "is_shorten": False,
            "is_shorten_clicked": None,
            "carrier": _CARRIERS[int(to[-1]) % len(_CARRIERS)],
            "charged_count_per_sent": -(-_utf16_len(body) // 70),
            "scheduled_at": None,
            "limited_at": _first(form, "limited_at") or None,
            "_created": now,
            "_outcome": self.outcomes.get(to, "received"),
            "_canceled": None,
        }
        with self.lock:
            self.messages[record["id"]] = record
            self.send_counts[(to, body)] += 1
            self.tag_counts.update(tags)
            return Response(200, self.render(record))

    def detail(self, req: Request, match: re.Match[str]) -> Response:
        """SMS送信結果取得(レコード単位)."""
        with self.lock:
            record = self.messages.get(match["id"])
            if record is None:
                return self.error(404)
            return Response(200, self.render(record))

    def list_messages(self, req: Request, match: re.Match[str]) -> Response:
        """SMS送信結果取得(一括): filtered, newest first, paged."""
        q = {k: v[0] for k, v in req.query.items()}
        try:
            page = int(q.get("page", "1"))
            per_page = int(q.get("per_page", "100"))
        except ValueError:
            return self.error(422, errors={"page": ["数値で指定してください。"]})
        if page < 1 or not 1 <= per_page <= 100:
            return self.error(422, errors={"per_page": ["1から100までで指定してください。"]})
        with self.lock:
            items = [self.render(r) for r in reversed(self.messages.values())]
        if "tag" in q:
            items = [m for m in items if q["tag"] in m["tags"]]
        if "to" in q:
            items = [m for m in items if m["to"] == q["to"]]
        if "status" in q:
            items = [m for m in items if m["status"] == q["status"]]
        start = (page - 1) * per_page
        data = items[start : start + per_page]
        return Response(
            200, {"object": "list", "data": data, "has_more": len(items) > start + per_page}
        )

    def cancel(self, req: Request, match: re.Match[str]) -> Response:
        """SMS送信キャンセル: only a message still waiting."""
        with self.lock:
            record = self.messages.get(match["id"])
            if record is None:
                return self.error(404)
            if self.render(record)["status"] != "waiting":
                return self.error(422, "送信待ちのメッセージのみキャンセルできます。")
            record["_canceled"] = self.now()
            return Response(200, self.render(record))

    def render(self, record: dict[str, Any]) -> dict[str, Any]:
        """The record as the API shows it now (its state follows the delivery delay)."""
        created = record["_created"]
        age = self.now() - created
        out = {k: v for k, v in record.items() if not k.startswith("_")}
        out.update(
            result="processing",
            status="waiting",
            sent_result="none",
            sent_at=None,
            received_at=None,
            charged_at=None,
            created_at=_iso(created),
            updated_at=_iso(created),
        )
        sent_at = created + self.delivery_delay / 2
        if record["_canceled"]:
            out.update(status="canceled", result="done", updated_at=_iso(record["_canceled"]))
        elif age >= self.delivery_delay:
            final_at = created + self.delivery_delay
            outcome = record["_outcome"]
            if outcome == "status_error":
                out.update(status="error", result="done", updated_at=_iso(final_at))
            else:
                out.update(
                    status="done",
                    result="done",
                    sent_result=outcome,
                    sent_at=_iso(sent_at),
                    charged_at=_iso(sent_at),
                    received_at=_iso(final_at) if outcome == "received" else None,
                    updated_at=_iso(final_at),
                )
        elif age >= self.delivery_delay / 2:
            out.update(status="done", sent_at=_iso(sent_at), charged_at=_iso(sent_at))
        return out

    def reset_extra(self) -> None:
        """Forget the tag counts."""
        self.tag_counts.clear()

    def extra_stats(self) -> dict[str, Any]:
        """Tags carried more than once."""
        return {"tag_duplicates": {t: n for t, n in self.tag_counts.items() if n > 1}}


def _first(form: dict[str, list[str]], key: str) -> str:
    values = form.get(key) or [""]
    return values[0]


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, JST).isoformat(timespec="seconds")


def _add_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--token", default="karaden-test-token")
    parser.add_argument("--tenant-id", default="tenant-0001")
    parser.add_argument("--service-id", type=int, action="append", default=None)


def _make(args: argparse.Namespace, **kw: Any) -> KaradenServer:
    return KaradenServer(
        token=args.token,
        tenant_id=args.tenant_id,
        service_ids=tuple(args.service_id or (1, 2)),
        **kw,
    )


if __name__ == "__main__":
    sys.exit(run_cli(KaradenServer, None, _add_args, _make))
