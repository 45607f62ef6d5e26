"""New send: roster → per-recipient preview → narrow → compose → confirm → follow progress.

Everything the page shows about the send comes from ONE draft (``SmsService.draft_send``):
counts, cost, the quota of the month the send goes out in, quiet hours, link expiry and
the sender number. The page decides nothing itself; confirming hands that draft back
(``SmsService.confirm_send``), which checks everything again in one transaction.

The composer keeps its work (issue 15): the roster's bytes and every choice live in
``st.session_state`` outside the widgets (whose state Streamlit drops when the page is
left), and are autosaved on the server per user, so a reload finds them too. An upload
that cannot be read keeps the last good roster and everything else.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import date, time, timedelta
from pathlib import Path

import streamlit as st

from sms_core.errors import SmsError
from sms_core.i18n import format_yen
from ui import (
    actor,
    composer_alive,
    composer_keys,
    error_words,
    keep_composer,
    lang,
    language_changed,
    require,
    service,
    show_error,
    t,
)

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "roster_sample_cp932.csv"
SAMPLE_ID = "sample"
# st.dataframe sends every row to the browser; past this the table is cut (the CSV is whole).
SHOWN_ROWS = 5_000
# Session keys of one composition, forgotten by "start a new send".
WORK = ("send_roster", "roster_columns", "headers_for", "upload_seen", "upload_failed")

require("preview")
svc = service()
state = st.session_state


def _from_json(key: str, value: object) -> object:
    if key == "send_date" and isinstance(value, str):
        return date.fromisoformat(value)
    if key == "send_time" and isinstance(value, str):
        return time.fromisoformat(value)
    return value


def _roster_id(data: bytes) -> str:
    return "roster:" + hashlib.blake2b(data, digest_size=12).hexdigest()


def _restore_from_server() -> None:
    """Once per browser session (a reload starts a new one): the user's autosave."""
    saved = svc.composer_autosave()
    choices = {k: _from_json(k, v) for k, v in (saved.choices if saved else {}).items()}
    state["send_choices"] = choices
    state["send_saved"] = json.dumps(saved.choices if saved else {}, sort_keys=True)
    if saved is not None and saved.roster is not None and saved.roster_name:
        state["send_roster"] = {
            "name": saved.roster_name,
            "data": saved.roster,
            "id": _roster_id(saved.roster),
        }
    if saved is not None and saved.updated_at is not None:
        state["send_restored"] = svc.japan_time(saved.updated_at)


def start_new_send() -> None:
    """Forget this composition: a clean composer, a new form key, no autosave."""
    for key in [*composer_keys(), *WORK, "campaign_id", "confirming", "send_restored"]:
        state.pop(key, None)
    state["send_choices"] = {}
    state["send_saved"] = "{}"
    state["upload_gen"] = state.get("upload_gen", 0) + 1  # a fresh, empty file uploader
    state["send_nonce"] = secrets.token_hex(8)
    state["send_cache"] = svc.draft_cache()
    svc.clear_composer_autosave()


if "send_choices" not in state:
    _restore_from_server()
state.setdefault("upload_gen", 0)
# Widgets not drawn on the last run (another page was open) lost their state, or fell back
# to a stale one; after a change of language their values are raw: the kept values are
# put back.
if not composer_alive() or language_changed():
    for key, value in state["send_choices"].items():
        state[key] = value
keep_composer(force=True)
cache = state.setdefault("send_cache", svc.draft_cache())
state.setdefault("send_nonce", secrets.token_hex(8))
state.setdefault("body", t("preview.body_default"))
state.setdefault("send_sample", False)  # the sample is for trying the preview only
# Once this form's send is confirmed its units are already reserved: not counted twice.
sent = state.get("campaign_id") is not None

st.title(t("send.title"))
st.info(t("send.send_only"), icon=":material/speaker_notes_off:")
if sent:
    st.success(t("send.sent_banner", id=state["campaign_id"]))
if restored := state.pop("send_restored", None):
    st.info(t("send.restored", time=restored))

# 1. Roster: the last good one is kept in the session (the uploader forgets its file when
# the page is left) and on the server.
upload = st.file_uploader(
    t("preview.upload"), type=["csv", "tsv", "txt", "xlsx"], key=f"upload:{state['upload_gen']}"
)
st.caption(t("send.upload_caption"))
if upload is not None and upload.file_id != state.get("upload_seen"):
    state["upload_seen"] = upload.file_id
    state.pop("upload_failed", None)
    data = upload.getvalue()
    try:
        columns_info = svc.roster_columns(data, upload.name)
    except SmsError as exc:
        state["upload_failed"] = (upload.file_id, exc)
    else:
        roster_id = _roster_id(data)
        state["send_roster"] = {"name": upload.name, "data": data, "id": roster_id}
        state["roster_columns"], state["headers_for"] = columns_info, roster_id
        state["send_sample"] = False  # a roster of one's own replaces the sample
        svc.autosave_roster(upload.name, data)
failed = state.get("upload_failed")
if upload is not None and failed and failed[0] == upload.file_id:
    show_error(failed[1])
    if state.get("send_roster"):
        st.info(t("send.upload_kept", name=state["send_roster"]["name"]))
use_sample = st.toggle(t("preview.sample"), key="send_sample")
kept_roster = state.get("send_roster")
if use_sample and SAMPLE.exists():
    st.caption(t("send.sample_note"))
    data, name, source_id = SAMPLE.read_bytes(), SAMPLE.name, SAMPLE_ID
elif kept_roster is not None:
    data, name, source_id = kept_roster["data"], kept_roster["name"], kept_roster["id"]
    st.caption(t("send.roster_in_use", name=name))
else:
    st.info(t("send.upload_first"))
    st.stop()
st.caption(t("send.autosave_note"))

# Column mapping: the roster's own headers for each field; open when one is not recognised.
if state.get("headers_for") != source_id:
    try:
        state["roster_columns"] = svc.roster_columns(data, name)
    except SmsError as exc:
        show_error(exc)
        st.stop()
    state["headers_for"] = source_id
columns_info = state["roster_columns"]
headers: list[str] = columns_info.headers
guessed = columns_info.guessed
unrecognised = [f for f in ("kind", "mobile", "phone1") if f not in guessed]
mapping: dict[str, str] = {}
with st.expander(t("send.mapping"), expanded=bool(unrecognised)):
    st.caption(t("send.mapping_help"))
    if unrecognised:
        # The fields by their names in the user's language (区分), never their ids (kind).
        names = [columns_info.fields[f][0 if lang() == "ja" else 1] for f in unrecognised]
        st.warning(t("send.mapping_missing", fields=("、" if lang() == "ja" else ", ").join(names)))
    columns = st.columns(4)
    for i, (field, (japanese, english)) in enumerate(columns_info.fields.items()):
        map_key = f"map:{source_id}:{field}"
        if state.get(map_key) not in headers:
            state[map_key] = guessed.get(field)
        chosen_header = columns[i % 4].selectbox(
            f"{japanese} ({english})",
            headers,
            placeholder=t("send.mapping_none"),
            key=map_key,
        )
        if chosen_header is not None:
            mapping[field] = chosen_header

# 2. Compose (before the preview, so every keystroke re-costs it)
templates = {tpl.name: tpl.body for tpl in svc.templates()}
drafts = {f"{d.title} (#{d.id})": d.body for d in svc.drafts()}
with st.expander(t("send.load")):
    # label → (body, template name or None for a draft)
    sources = {
        **{f"[T] {k}": (v, k) for k, v in templates.items()},
        **{f"[D] {k}": (v, None) for k, v in drafts.items()},
    }
    chosen_source = st.selectbox(
        t("send.load_pick"), list(sources), index=None, placeholder=t("ui.choose")
    )
    st.button(
        t("send.load_button"),
        disabled=chosen_source is None,
        on_click=lambda: state.update(
            body=sources[chosen_source][0], template_name=sources[chosen_source][1]
        ),
    )

body = st.text_area(t("preview.body"), key="body", height=140)
if state.get("template_name"):
    # The campaign records the template it was made from, so history can be sliced by it.
    st.caption(t("send.from_template", name=state["template_name"]))
bare = svc.body_cost(body)
st.caption(t("send.counter", chars=bare.chars, units=bare.units, segments=bare.segments))
if svc.suggests_optout(body):  # 特定電子メール法: advertising needs a way to opt out
    st.info(t("send.optout_hint"))

# The choices drawn further down (narrowing, schedule, quiet hours) are read from their
# widgets' state here, so the one draft below already reflects them.
# Keyed by the roster, so a new upload starts with its own name and no narrowing.
filters = {
    header: state[f"narrow:{source_id}:{header}"]
    for header in state.get(f"narrow_cols:{source_id}", [])
    if header in headers and f"narrow:{source_id}:{header}" in state
}
today = svc.japan_today()
tomorrow = today + timedelta(days=1)
if not isinstance(state.get("send_date"), date) or state["send_date"] < today:
    state["send_date"] = tomorrow  # a date kept from an earlier day cannot be chosen now
state.setdefault("send_time", time(10, 0))
state.setdefault("send_mode", "now")
state.setdefault("send_policy", "refuse")
state.setdefault("send_urgent", False)
send_at = (
    svc.japan_instant(state["send_date"], state["send_time"])
    if state["send_mode"] == "later"
    else None
)
urgent = state["send_urgent"]
name_key = f"send_name:{source_id}"
state.setdefault(name_key, Path(name).stem)
deadline_default = send_at or svc.japan_instant(svc.japan_today(), time(18, 0))
deadline = (
    svc.japan_instant(
        state.get("deadline_day", deadline_default.date()), state.get("deadline_time", time(18, 0))
    )
    if state.get("deadline_on", False)
    else None
)
try:
    draft = svc.draft_send(
        data,
        name,
        body=body,
        template_name=state.get("template_name"),
        mapping=mapping,
        filters=filters,
        send_at=send_at,
        deadline=deadline,
        quiet_policy=state["send_policy"],
        urgent_reason=state.get("send_reason", "") if urgent else None,
        name=state.get(name_key) or Path(name).stem,
        nonce=state["send_nonce"],
        cache=cache,
        source_id=source_id,
        sample=source_id == SAMPLE_ID,
    )
except SmsError as exc:
    show_error(exc)
    st.stop()

tag_col, save_col = st.columns(2)
with tag_col:
    tag = st.selectbox(
        t("send.tag_pick"),
        [*draft.tag_names(), "url:https://"],
        index=None,
        placeholder=t("ui.choose"),
    )
    st.button(
        t("send.tag_insert"),
        disabled=tag is None,
        on_click=lambda: state.update(body=state["body"] + "{{" + tag + "}}"),
    )
with save_col:
    title = st.text_input(t("send.save_name"))
    left, right = st.columns(2)
    if left.button(t("send.save_template"), disabled=not title):
        try:
            svc.save_template(title, body, actor=actor())
            st.toast(t("send.saved"))
        except SmsError as exc:
            show_error(exc)
    if right.button(t("send.save_draft"), disabled=not title):
        svc.save_draft(title, body)
        st.toast(t("send.saved"))

# 3. Narrow the recipients by any roster column (LINE 未登録, 未予約, 卒業年度 …)
narrowable = draft.narrowable()
narrow_key = f"narrow_cols:{source_id}"
state[narrow_key] = [h for h in state.get(narrow_key, []) if h in narrowable]
for header in st.multiselect(
    t("send.narrow"), list(narrowable), placeholder=t("ui.choose"), key=narrow_key
):
    values = narrowable.get(header, [])
    value_key = f"narrow:{source_id}:{header}"
    if value_key not in state:
        state[value_key] = values
    else:
        state[value_key] = [v for v in state[value_key] if v in values]
    st.multiselect(header, values, key=value_key)

cols = st.columns(5)
cols[0].metric(t("preview.rows"), f"{draft.roster_rows:,}")
cols[1].metric(t("send.recipients"), f"{draft.recipients:,}")
cols[2].metric(t("preview.units"), f"{draft.units:,}")
cols[3].metric(t("preview.segments"), f"{draft.segments:,}", help=t("preview.segments_help"))
cols[4].metric(
    t("send.remaining_after_month", month=draft.month_label),
    f"{draft.remaining_before if sent else draft.remaining_after:,}",
)
# Issue 16: the cost in yen at the team's unit price, and this month's spend so far.
spend = svc.month_spend()
st.caption(
    t(
        "yen.preview",
        yen=format_yen(svc.cost_yen(draft.units)),
        price=format_yen(spend.unit_price_yen),
        spend=format_yen(spend.used_yen),
    )
)
if not spend.unit_price_yen:
    st.caption(t("yen.unset"))
if draft.empty_tag_rows:
    st.warning(f"{t('preview.empty_tags')}: {draft.empty_tag_rows:,}")

# 4. The per-recipient preview, every row with its reason (R5)
reason_words = {code: t(f"reason.{code}") for code in draft.reasons}
with st.expander(t("preview.excluded"), expanded=False):
    st.dataframe(
        {
            t("preview.reason"): list(reason_words.values()),
            t("preview.count"): list(draft.reasons.values()),
        },
        hide_index=True,
    )
    chosen = st.multiselect(
        t("preview.filter"),
        list(draft.reasons),
        format_func=reason_words.get,
        placeholder=t("ui.choose"),
    )
    frame = draft.frame()
    if chosen:
        frame = frame[frame["reason"].isin(chosen)]
    st.dataframe(
        frame.assign(reason=frame["reason"].map(reason_words)).head(SHOWN_ROWS), hide_index=True
    )
    st.download_button(
        t("preview.download"),
        data=draft.csv_bytes,
        file_name=f"preview_{Path(name).stem}.csv",
        mime="text/csv",
        on_click="ignore",
    )
    st.download_button(  # issue 16: the same preview as Excel, Japanese headers
        t("preview.download_xlsx"),
        data=lambda: svc.preview_xlsx(draft.preview),
        file_name=f"preview_{Path(name).stem}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        on_click="ignore",
    )

# 5. When, and confirm
st.subheader(t("send.when"))
st.text_input(t("send.name"), key=name_key)
mode = st.radio(
    t("send.when"),
    ["now", "later"],
    horizontal=True,
    format_func=lambda m: t(f"send.when.{m}"),
    label_visibility="collapsed",
    key="send_mode",
)
if mode == "later":
    st.date_input(t("send.date"), min_value=today, key="send_date")
    st.time_input(t("send.time"), step=timedelta(minutes=15), key="send_time")
st.radio(
    t("send.quiet"),
    ["refuse", "defer"],
    horizontal=True,
    format_func=lambda p: t(f"send.quiet.{p}"),
    key="send_policy",
)
# 送信期限 (issue 12): what is not handed over by then expires, its units released.
if st.toggle(t("send.deadline"), key="deadline_on"):
    st.date_input(t("send.deadline_date"), value=deadline_default.date(), key="deadline_day")
    st.time_input(
        t("send.deadline_time"), value=time(18, 0), step=timedelta(minutes=15), key="deadline_time"
    )
if st.toggle(t("send.urgent"), key="send_urgent"):
    st.text_input(t("send.urgent_reason"), key="send_reason")
if draft.quiet_outcome == "deferred":
    st.warning(
        t(
            "send.quiet_warning.defer",
            window=draft.quiet_window,
            end=svc.japan_time(draft.starts_at),
        )
    )


def blocked_message() -> str | None:
    """Why this draft cannot be confirmed, in words (None when it can)."""
    if sent:
        return t("send.already_sent")
    reason = draft.blocked
    if reason is None:
        return None
    if reason == "sample":
        return t("send.blocked.sample")
    if reason == "time":
        return error_words(draft.problem_error) if draft.problem_error else None
    if reason == "quiet_refused":
        return t("send.quiet_warning.refuse", window=draft.quiet_window)
    if reason == "contract_ended":
        return t("send.blocked.contract_ended", end=f"{draft.contract_end:%Y-%m}")
    if reason in ("no_contract", "outside_contract"):
        return t(f"send.blocked.{reason}", month=draft.month_label)
    if reason == "nobody":
        return t("send.nobody")
    if reason == "none_left":
        return t("send.none_left", month=draft.month_label)
    return t("send.short", short=draft.shortfall, month=draft.month_label)


blocked = blocked_message()
if blocked:
    st.warning(blocked)
if draft.links_expire_on is not None:  # R11: short links live a set time; say so before sending
    st.warning(t("send.links_expire", date=draft.links_expire_on, days=svc.link_retention_days()))


def _close_dialog() -> None:
    state["confirming"] = False


def _show_message(label_key: str, sample) -> None:
    counts = {"chars": sample.chars, "units": sample.units, "segments": sample.segments}
    st.caption(t(label_key, row=sample.row, **counts))
    st.container(border=True).text(sample.text)


# Open while state["confirming"] is set, so the dialog survives its own reruns.
@st.dialog(t("send.confirm_title"), on_dismiss=_close_dialog, width="large")
def confirm() -> None:
    goes_out = draft.send_at is not None or draft.quiet_outcome == "deferred"
    st.markdown(t("send.confirm.intro"))
    first, longest = draft.sample_message(), draft.longest_message()
    if first is not None:
        _show_message("send.confirm.sample", first)
    if longest is not None and first is not None and longest.chars != first.chars:
        _show_message("send.confirm.longest", longest)
    elif first is not None:
        st.caption(t("send.confirm.same"))
    per_min, high = draft.units_per_recipient()
    filters_text = " / ".join(f"{h}: {', '.join(v)}" for h, v in draft.filters)
    st.markdown(
        t(
            "send.confirm.facts",
            name=draft.name,
            file=draft.roster_name,
            filters=filters_text or t("send.confirm.no_filters"),
            recipients=draft.recipients,
            per=per_min if per_min == high else t("send.confirm.range", low=per_min, high=high),
            units=draft.units,
            segments=draft.segments,
            yen=format_yen(svc.cost_yen(draft.units)),
            price=format_yen(draft.unit_price_yen),
            month=draft.month_label,
            after=draft.remaining_after,
            cap=draft.cap,
            sender=draft.sender_display,
            when=svc.japan_time(draft.starts_at) if goes_out else t("send.when.now"),
        )
    )
    st.caption(t("send.confirm.send_only"))
    go, cancel = st.columns(2)
    if cancel.button(t("send.cancel"), width="stretch"):
        _close_dialog()
        st.rerun()
    if go.button(t("send.go"), type="primary", width="stretch"):
        try:
            info = svc.confirm_send(draft, actor=actor())
        except SmsError as exc:
            show_error(exc)
            return
        state["campaign_id"] = info.id
        _close_dialog()
        st.rerun()


st.button(
    t("send.review"),
    type="primary",
    disabled=blocked is not None,
    on_click=lambda: state.update(confirming=True),
)
if state.get("confirming") and blocked is None:
    confirm()  # the campaign is created only by the dialog's button, idempotently


# 6. Follow the send as the worker dispatches it (R15: at once, not minutes later)
@st.fragment(run_every=1.0)
def progress() -> None:
    campaign_id = state.get("campaign_id")
    if campaign_id is None:
        return
    p = svc.progress(campaign_id)
    st.subheader(t("send.progress", id=campaign_id, state=t(f"campaign.{p.state}")))
    st.progress(p.done / p.total if p.total else 1.0)
    st.caption("  ".join(f"{t(f'message.{k}')}: {v:,}" for k, v in sorted(p.counts.items())))


progress()
if sent:
    # One click: a clean composer (roster, body, choices and the autosave forgotten).
    st.button(t("send.new"), type="primary", on_click=start_new_send, key="send_new")
