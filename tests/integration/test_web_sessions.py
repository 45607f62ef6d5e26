"""Issue 15 on SQLite and PostgreSQL: a signed-in browser survives a reload through an
HttpOnly session cookie, backed by a server-side session that sign-out, expiry and
disabling the account end; and app.py's two routes that set and delete the cookie."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from sms_core import clock
from sms_core.roles import Principal
from sms_core.service import SmsService
from sms_core.store.db import transaction
from sms_core.store.models import WebSession

T0 = datetime(2026, 11, 30, 14, 30, tzinfo=UTC)  # 23:30 Japan time, a month's last day


@pytest.fixture
def admin(engine) -> SmsService:
    svc = SmsService(engine)
    svc.add_user("sato", "operator")
    return svc


def begin(admin: SmsService, name: str = "sato", role: str = "operator") -> tuple[int, str]:
    return admin.for_user(Principal(name, role)).begin_web_session()


def test_a_code_is_traded_for_a_token_once_and_the_token_resumes_the_user(admin):
    with clock.frozen(T0):
        session_id, code = begin(admin)
        token = admin.redeem_web_session(code)
        assert token and token != code
        assert admin.redeem_web_session(code) is None  # one use only
        resumed = admin.resume_web_session(token)
    assert resumed == (session_id, Principal("sato", "operator"))


def test_only_digests_are_stored(admin, engine):
    with clock.frozen(T0):
        _, code = begin(admin)
        token = admin.redeem_web_session(code)
    with transaction(engine) as s:
        row = s.scalar(select(WebSession))
        stored = " ".join(str(v) for v in (row.token_digest, row.handoff_digest))
    assert token not in stored and code not in stored


def test_a_code_expires_after_a_minute(admin):
    with clock.frozen(T0):
        _, code = begin(admin)
    with clock.frozen(T0 + timedelta(seconds=61)):
        assert admin.redeem_web_session(code) is None


@pytest.mark.parametrize("bad", ["", "x" * 500, "not-a-code"])
def test_unknown_or_malformed_codes_and_tokens_sign_nobody_in(admin, bad):
    assert admin.redeem_web_session(bad) is None
    assert admin.resume_web_session(bad) is None
    assert admin.resume_web_session(None) is None


def test_idle_sessions_expire_and_use_keeps_them_alive(admin, monkeypatch):
    monkeypatch.setenv("SMS_SESSION_IDLE_MINUTES", "30")
    with clock.frozen(T0):
        _, code = begin(admin)
        token = admin.redeem_web_session(code)
    with clock.frozen(T0 + timedelta(minutes=29)):
        assert admin.resume_web_session(token) is not None  # restarts the idle time
    with clock.frozen(T0 + timedelta(minutes=58)):
        assert admin.resume_web_session(token) is not None
    with clock.frozen(T0 + timedelta(minutes=89)):
        assert admin.resume_web_session(token) is None


def test_sessions_end_at_their_absolute_expiry_however_busy(admin, monkeypatch):
    monkeypatch.setenv("SMS_SESSION_MAX_HOURS", "2")
    with clock.frozen(T0):
        _, code = begin(admin)
        token = admin.redeem_web_session(code)
    for minutes in range(20, 120, 20):
        with clock.frozen(T0 + timedelta(minutes=minutes)):
            assert admin.resume_web_session(token) is not None
    with clock.frozen(T0 + timedelta(hours=2)):
        assert admin.resume_web_session(token) is None


def test_sign_out_revokes_by_id_and_by_token(admin):
    with clock.frozen(T0):
        first, code = begin(admin)
        token = admin.redeem_web_session(code)
        admin.end_web_session(session_id=first)
        assert admin.resume_web_session(token) is None
        assert admin.web_session_user(first) is None
        _, code = begin(admin)
        token = admin.redeem_web_session(code)
        admin.end_web_session(token=token)
        assert admin.resume_web_session(token) is None


def test_disabling_the_account_ends_its_sessions_and_a_new_role_applies_at_once(admin, engine):
    with clock.frozen(T0):
        session_id, code = begin(admin)
        token = admin.redeem_web_session(code)
        with transaction(engine) as s:
            from sms_core.store.models import User

            s.scalar(select(User).where(User.name == "sato")).role = "analyst"
        assert admin.web_session_user(session_id) == Principal("sato", "analyst")
        assert admin.resume_web_session(token)[1].role == "analyst"
        admin.set_user_disabled("sato", True)
        assert admin.web_session_user(session_id) is None
        assert admin.resume_web_session(token) is None
        admin.set_user_disabled("sato", False)
        assert admin.resume_web_session(token) is None  # re-enabling does not revive it


def test_the_routes_set_an_httponly_cookie_once_and_delete_it(admin, database_url, monkeypatch):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    import app as asgi

    monkeypatch.setenv("SMS_DATABASE_URL", database_url)
    asgi._service.cache_clear()
    routes = Starlette(routes=asgi.app._user_routes)
    client = TestClient(routes, base_url="http://127.0.0.1", follow_redirects=False)
    try:
        _, code = begin(admin)
        answer = client.get("/session/start", params={"code": code, "next": "/history"})
        assert answer.status_code == 303 and answer.headers["location"] == "/history"
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{SmsService.SESSION_COOKIE}=")
        assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
        token = cookie.split(";", 1)[0].split("=", 1)[1]
        assert admin.resume_web_session(token)[1].name == "sato"

        again = client.get("/session/start", params={"code": code, "next": "//evil.example"})
        assert again.headers["location"] == "/"  # never another host
        assert "set-cookie" not in again.headers  # a used code sets nothing

        client.cookies.set(SmsService.SESSION_COOKIE, token)
        ended = client.get("/session/end")
        assert ended.status_code == 303
        assert (
            'sms_session=""' in ended.headers["set-cookie"]
            or "Max-Age=0" in ended.headers["set-cookie"]
        )
        assert admin.resume_web_session(token) is None
    finally:
        asgi._service.cache_clear()
