"""What every page shares: the signed-in user's service, the language, the acting user.

Not a page. The Engine inside the service is cached once per process and database URL
(``st.cache_resource``); sessions are never cached: each call opens and closes its own.
The user of a browser session lives in ``st.session_state`` (set by pages/login.py); the
service a page gets acts as that user, so sms_core checks the role on every change.
"""

from __future__ import annotations

import json
import os
from datetime import date, time

import streamlit as st

from sms_core.errors import AccessError
from sms_core.i18n import DEFAULT_LANGUAGE, LANGUAGES, error_text
from sms_core.i18n import t as _t
from sms_core.roles import Principal
from sms_core.service import SmsService

USER_KEY = "principal"
WEB_SESSION_KEY = "web_session_id"
HANDOFF_KEY = "web_session_handoff"
SIGNOUT_KEY = "web_session_signout"


@st.cache_resource(show_spinner=False)
def _service(database_url: str) -> SmsService:
    return SmsService.from_env()


def base_service() -> SmsService:
    """The service before anyone signs in: only login and the first-admin check use it."""
    return _service(os.environ.get("SMS_DATABASE_URL", ""))


def user() -> Principal | None:
    """Who is signed in in this browser session, if anyone.

    A reload starts a new Streamlit session: the user comes back from the HttpOnly
    session cookie (app.py sets it after sign-in). While signed in, the account is re-read
    on every run, so a disabled account is signed out and a changed role applies at once.
    """
    state = st.session_state
    if state.get(USER_KEY) is None:
        resumed = base_service().resume_web_session(_cookie())
        if resumed is not None:
            state[WEB_SESSION_KEY], state[USER_KEY] = resumed
    principal = state.get(USER_KEY)
    if principal is None:
        return None
    session_id = state.get(WEB_SESSION_KEY)
    if session_id is not None and base_service().web_session_user(session_id) is None:
        sign_out()  # signed out elsewhere, expired, or the account was disabled
        return None
    try:
        current = base_service().for_user(principal).principal
    except AccessError:  # disabled: signed out at their next click
        sign_out()
        return None
    if current != principal:
        state[USER_KEY] = current  # demoted or promoted: their new role's pages
    return current


def _cookie() -> str | None:
    try:
        token = st.context.cookies.get(SmsService.SESSION_COOKIE)
    except Exception:  # AppTest and bare scripts have no request, hence no cookies
        return None
    return token if isinstance(token, str) else None


def _in_browser() -> bool:
    try:
        host = st.context.headers.get("Host")
    except Exception:
        return False
    return isinstance(host, str) and bool(host)


def signed_in(principal: Principal) -> None:
    """Sign ``principal`` in for this browser: now, and after a reload (the next run sends
    the browser to /session/start for its cookie)."""
    st.session_state[USER_KEY] = principal
    # st.login keeps its own cookie; without a browser (AppTest) there is none to set.
    if not oidc_configured() and _in_browser():
        session_id, code = base_service().for_user(principal).begin_web_session()
        st.session_state[WEB_SESSION_KEY] = session_id
        st.session_state[HANDOFF_KEY] = code


def sign_out() -> None:
    """End this browser's session: here, on the server, and (next run) its cookie."""
    state = st.session_state
    session_id = state.pop(WEB_SESSION_KEY, None)
    state.pop(USER_KEY, None)
    state.pop(HANDOFF_KEY, None)
    if session_id is not None:
        base_service().end_web_session(session_id=session_id)
        state[SIGNOUT_KEY] = True


def follow_session_redirect() -> None:
    """Send the browser for its session cookie after a sign-in, or to delete it after a
    sign-out (app.py's routes); a script cannot set or delete an HttpOnly cookie. Nothing
    else is drawn meanwhile: the page comes back signed in a moment later."""
    state = st.session_state
    code = state.pop(HANDOFF_KEY, None)
    if code is not None:
        target = f"/session/start?code={code}&next="
        st.html(
            f"<script>window.location.replace({target!r} + "
            "encodeURIComponent(window.location.pathname));</script>",
            unsafe_allow_javascript=True,
        )
        st.stop()
    elif state.pop(SIGNOUT_KEY, False):
        st.html(
            "<script>window.location.replace('/session/end');</script>",
            unsafe_allow_javascript=True,
        )
        st.stop()


def service() -> SmsService:
    """The product's service acting as the signed-in user (pages run only after login)."""
    principal = user()
    if principal is None:
        st.stop()  # dashboard.py shows only the login page to a session without a user
    return base_service().for_user(principal)


def require(permission: str) -> None:
    """Stop the page with a plain message unless the user's role has ``permission``.

    Navigation already hides such pages and the service refuses their actions; this
    only turns a forged page address into a message instead of an error trace.
    """
    principal = user()
    if principal is None or not principal.can(permission):
        st.error(t("ui.forbidden"))
        st.stop()


def _choose_language(code: str) -> None:
    st.session_state["lang"] = code


def language_switch() -> None:
    """The sidebar's language buttons (日本語 / English), the chosen one highlighted.

    Buttons, not a selectbox: in a real browser a widget of dashboard.py that keeps a
    value (a selectbox) fell back to Japanese on every change while pages/ exists next to
    it (Streamlit 1.67 with st.navigation); a button's click callback always applies.
    """
    state = st.session_state
    state.setdefault("lang", DEFAULT_LANGUAGE)
    st.sidebar.caption("言語 / Language")
    columns = st.sidebar.columns(len(LANGUAGES))
    for column, (code, name) in zip(columns, LANGUAGES.items(), strict=True):
        column.button(
            name,
            key=f"lang:{code}",
            on_click=_choose_language,
            args=(code,),
            type="primary" if state["lang"] == code else "secondary",
            width="stretch",
        )


def lang() -> str:
    """The language chosen in the sidebar."""
    return st.session_state.get("lang", DEFAULT_LANGUAGE)


def t(key: str, **values: object) -> str:
    """A UI string in the user's language."""
    return _t(key, lang(), **values)


def table(rows: list[dict], empty: str = "overview.none") -> None:
    """A table of labelled rows, or the catalogue's ``empty`` text when there are none (an
    empty list would draw a headerless frame that says "empty")."""
    if rows:
        st.dataframe(rows, hide_index=True)
    else:
        st.caption(t(empty))


def error_words(exc: BaseException) -> str:
    """An error of the product as the user reads it, in their language (its code's text)."""
    return error_text(exc, lang())


def show_error(exc: BaseException) -> None:
    """Show an error of the product in the user's language (its stable code's text)."""
    st.error(error_words(exc))


def actor() -> str:
    """Who acts, for the audit trail: the signed-in user."""
    principal = user()
    return principal.name if principal else "anonymous"


def oidc_configured() -> bool:
    """Whether `[auth]` is configured in .streamlit/secrets.toml (then st.login is used)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all: Streamlit raises on first access
        return False


def _css_text(text: str) -> str:
    """``text`` as a CSS string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def translate_streamlit_texts() -> None:
    """Replace Streamlit's own English where Streamlit allows it (issue 15).

    Streamlit 1.67 has no locale option, so its file uploader ("Drag and drop file
    here", "Limit 256MB per file • CSV, TXT, XLSX", "Browse files"/"Upload") and the
    text inputs' "Press Enter/Ctrl+Enter to apply" are hidden with CSS and drawn again from
    the catalogue with ``::after``. Called once per run by dashboard.py, before any page.
    """
    drop = _css_text(t("send.st.dropzone"))
    button = _css_text(t("send.st.upload_button"))
    apply = _css_text(t("send.st.input_instructions"))
    st.html(
        "<style>"
        '[data-testid="stFileUploaderDropzoneInstructions"] > div > span,'
        '[data-testid="stFileUploaderDropzoneInstructions"] > div > small{display:none}'
        '[data-testid="stFileUploaderDropzoneInstructions"] > div::after'
        f"{{content:{drop};font-size:0.9rem}}"
        '[data-testid="stFileUploaderDropzone"] button{font-size:0}'
        '[data-testid="stFileUploaderDropzone"] button > *{display:none}'
        '[data-testid="stFileUploaderDropzone"] button::after'
        f"{{content:{button};font-size:0.875rem}}"
        '[data-testid="InputInstructions"]{font-size:0 !important}'
        '[data-testid="InputInstructions"] > *{display:none}'
        f'[data-testid="InputInstructions"]::after{{content:{apply};font-size:0.75rem}}'
        "</style>"
    )


# New send's kept work (issue 15): its widgets' keys, fixed and per roster (by prefix).
COMPOSER_KEYS = (
    "body",
    "template_name",
    "send_sample",
    "send_mode",
    "send_date",
    "send_time",
    "send_policy",
    "send_urgent",
    "send_reason",
)
COMPOSER_PREFIXES = ("map:", "narrow_cols:", "narrow:", "send_name:")


def composer_keys() -> list[str]:
    """The keys of New send's kept widgets present in this session now."""
    return [
        k
        for k in st.session_state
        if isinstance(k, str) and (k in COMPOSER_KEYS or k.startswith(COMPOSER_PREFIXES))
    ]


def note_language() -> None:
    """Remember whether this run follows a change of the sidebar language (dashboard.py).

    Widget labels are in the UI language, and a widget whose label changed is a new widget
    to Streamlit: in that one run, a value read before its widget is drawn is the browser's
    raw one (a radio's index, not its option). New send then puts its kept values back."""
    state = st.session_state
    state["lang_changed"] = "lang_seen" in state and state["lang_seen"] != lang()
    state["lang_seen"] = lang()


def language_changed() -> bool:
    """Whether this run follows a change of the UI language (see :func:`note_language`)."""
    return bool(st.session_state.get("lang_changed", False))


def composer_alive() -> bool:
    """Whether New send's widgets are live: its file uploader (drawn on every run of the
    page, never set by it) keeps its state only while the last run drew that page."""
    state = st.session_state
    return f"upload:{state.get('upload_gen', 0)}" in state


def keep_composer(*, force: bool = False) -> None:
    """Copy New send's widget values into ``send_choices`` and autosave them for the user.

    dashboard.py calls it on every run, before any page: a value changed together with a
    click on another page's link arrives in that very run, and only then (the widgets'
    state is dropped at its end). Only while the composer is live (or ``force``: the page
    itself, once it has put the kept values back), so a stale value never overwrites one.
    A confirmed send is not autosaved again.
    """
    state = st.session_state
    if "send_choices" not in state or not (force or (composer_alive() and not language_changed())):
        return
    state["send_choices"] = {**state["send_choices"], **{k: state[k] for k in composer_keys()}}
    if state.get("campaign_id") is not None:
        return
    plain = {
        k: v.isoformat() if isinstance(v, (date, time)) else v
        for k, v in state["send_choices"].items()
    }
    snapshot = json.dumps(plain, sort_keys=True)
    if snapshot != state.get("send_saved"):
        principal = user()
        if principal is not None and principal.can("preview"):
            service().autosave_composer(json.loads(snapshot))
        state["send_saved"] = snapshot
