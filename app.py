"""The dashboard as one ASGI app: ``streamlit run app.py`` (what ``make run`` starts).

``dashboard.py`` is the Streamlit script; this file adds the two routes a browser session
needs to survive a reload (issue 15), which a Streamlit script cannot do itself because
it cannot set an HttpOnly cookie:
- ``GET /session/start?code=…&next=/page`` trades the one-time code a sign-in produced
  for the session cookie (HttpOnly, SameSite=Lax, Secure over HTTPS) and goes back;
- ``GET /session/end`` revokes the session behind the cookie and deletes it.
"""

from __future__ import annotations

from functools import cache

import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from sms_core.service import SmsService


@cache
def _service() -> SmsService:
    return SmsService.from_env()


def _back_to(request: Request) -> str:
    """Where to go next: a path of this site only (never another host)."""
    target = request.query_params.get("next", "/")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _secure(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip() == "https"


async def start_session(request: Request) -> RedirectResponse:
    """Set the session cookie for a fresh one-time code; an unusable code sets nothing."""
    response = RedirectResponse(_back_to(request), status_code=303)
    response.headers["Cache-Control"] = "no-store"
    code = request.query_params.get("code", "")
    token = await run_in_threadpool(_service().redeem_web_session, code)
    if token is not None:
        response.set_cookie(
            SmsService.SESSION_COOKIE,
            token,
            max_age=SmsService.web_session_max_age(),
            path="/",
            httponly=True,
            samesite="lax",
            secure=_secure(request),
        )
    return response


async def end_session(request: Request) -> RedirectResponse:
    """Revoke the cookie's session and delete the cookie."""
    token = request.cookies.get(SmsService.SESSION_COOKIE)
    await run_in_threadpool(_service().end_web_session, token=token)
    response = RedirectResponse("/", status_code=303)
    response.headers["Cache-Control"] = "no-store"
    response.delete_cookie(SmsService.SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


app = st.App(
    "dashboard.py",
    routes=[
        Route("/session/start", start_session, methods=["GET"]),
        Route("/session/end", end_session, methods=["GET"]),
    ],
)
