"""New send: roster → per-recipient preview → narrow → compose → confirm → follow progress."""

from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta
from pathlib import Path

import streamlit as st

from sms_core.errors import SmsError
from sms_core.rules.export import csv_bytes
from sms_core.rules.preview import REASONS, PreviewCache, confirmation_key
from sms_core.rules.roster import FIELD_HEADERS, guess_fields, read_headers
from sms_core.rules.schedule import JST, japan_time
from sms_core.rules.text import cost_of_body
from ui import actor, require, service, t

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "roster_sample_cp932.csv"
# st.dataframe sends every row to the browser; past this the table is cut (the CSV is whole).
SHOWN_ROWS = 5_000

require("preview")
svc = service()
state = st.session_state
cache: PreviewCache = state.setdefault("send_cache", PreviewCache())
state.setdefault("send_nonce", secrets.token_hex(8))
state.setdefault("body", t("preview.body_default"))

st.title(t("send.title"))

# 1. Roster
upload = st.file_uploader(t("preview.upload"), type=["csv", "txt", "xlsx"])
use_sample = st.toggle(t("preview.sample"), value=upload is None and SAMPLE.exists())
if upload is not None:
    # Read only when the upload is new: the cache knows an upload by its id.
    data, name, source_id = upload.getvalue, upload.name, upload.file_id
elif use_sample and SAMPLE.exists():
    data, name, source_id = SAMPLE.read_bytes, SAMPLE.name, f"sample:{SAMPLE}"
else:
    st.info(t("send.upload_first"))
    st.stop()

# Column mapping: the roster's own headers for each field; open when one is not recognised.
if state.get("headers_for") != source_id:
    try:
        state["headers"] = read_headers(data(), name)
    except SmsError as exc:
        st.error(str(exc))
        st.stop()
    state["headers_for"] = source_id
headers: list[str] = state["headers"]
guessed = guess_fields(headers)
unrecognised = [f for f in ("kind", "mobile", "phone1") if f not in guessed]
mapping: dict[str, str] = {}
with st.expander(t("send.mapping"), expanded=bool(unrecognised)):
    st.caption(t("send.mapping_help"))
    if unrecognised:
        st.warning(t("send.mapping_missing", fields=", ".join(unrecognised)))
    columns = st.columns(4)
    for i, (field, (japanese, english)) in enumerate(FIELD_HEADERS.items()):
        chosen_header = columns[i % 4].selectbox(
            f"{japanese} ({english})",
            headers,
            index=headers.index(guessed[field]) if field in guessed else None,
            placeholder=t("send.mapping_none"),
            key=f"map:{source_id}:{field}",
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
bare = cost_of_body(body)
st.caption(t("send.counter", chars=bare.chars, units=bare.units, segments=bare.segments))

try:
    result = svc.preview(
        cache,
        data,
        name,
        body,
        source_id=source_id,
        mapping=mapping,
        suppressed=svc.suppressed_numbers(),
        short_url_base=svc.short_url_base(),
    )
except SmsError as exc:
    st.error(str(exc))
    st.stop()
roster = result.assessment.roster

tag_col, save_col = st.columns(2)
with tag_col:
    tag = st.selectbox(
        t("send.tag_pick"),
        [*roster.tag_names(), "url:https://"],
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
            st.error(str(exc))
    if right.button(t("send.save_draft"), disabled=not title):
        svc.save_draft(title, body)
        st.toast(t("send.saved"))

# 3. Narrow the recipients by any roster column (LINE 未登録, 未予約, 卒業年度 …)
phone_headers = set(roster.fields.values()) - {roster.fields.get("kind")}
narrowable = [
    h
    for h in roster.column_names
    if h not in phone_headers and roster.distinct_values(h) is not None
]
filters = {}
for header in st.multiselect(t("send.narrow"), narrowable, placeholder=t("ui.choose")):
    values = roster.distinct_values(header) or []
    filters[header] = st.multiselect(header, values, default=values, key=f"narrow:{header}")
selection = result.select(filters)
summary = result.summary
status = svc.quota()

cols = st.columns(5)
cols[0].metric(t("preview.rows"), f"{summary.rows:,}")
cols[1].metric(t("send.recipients"), f"{selection.recipients:,}")
cols[2].metric(t("preview.units"), f"{selection.units:,}")
cols[3].metric(t("preview.segments"), f"{selection.segments:,}", help=t("preview.segments_help"))
# Once this form's send is confirmed its units are already reserved: not counted twice.
sent = state.get("campaign_id") is not None
after = status.remaining if sent else status.remaining - selection.units
cols[4].metric(t("send.remaining_after"), f"{after:,}")
# Issue 16: the cost in yen at the team's unit price, and this month's spend so far.
st.caption(
    t(
        "yen.preview",
        yen=f"{svc.cost_yen(selection.units):,}",
        price=svc.unit_price_yen(),
        spend=f"{svc.month_spend().used_yen:,}",
    )
)
if summary.empty_tag_rows:
    st.warning(f"{t('preview.empty_tags')}: {summary.empty_tag_rows:,}")

# 4. The per-recipient preview, every row with its reason (R5)
reason_words = {code: t(f"reason.{code}") for code in REASONS}
with st.expander(t("preview.excluded"), expanded=False):
    st.dataframe(
        {
            t("preview.reason"): [reason_words[c] for c in REASONS],
            t("preview.count"): [summary.reasons[c] for c in REASONS],
        },
        hide_index=True,
    )
    chosen = st.multiselect(
        t("preview.filter"), REASONS, format_func=reason_words.get, placeholder=t("ui.choose")
    )
    frame = result.frame()
    if chosen:
        frame = frame[frame["reason"].isin(chosen)]
    st.dataframe(
        frame.assign(reason=frame["reason"].map(reason_words)).head(SHOWN_ROWS), hide_index=True
    )
    st.download_button(
        t("preview.download"),
        data=lambda: csv_bytes(result.export_table()),
        file_name=f"preview_{Path(name).stem}.csv",
        mime="text/csv",
        on_click="ignore",
    )
    st.download_button(  # issue 16: the same preview as Excel, Japanese headers
        t("preview.download_xlsx"),
        data=lambda: svc.preview_xlsx(result),
        file_name=f"preview_{Path(name).stem}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        on_click="ignore",
    )

# 5. When, and confirm
st.subheader(t("send.when"))
send_name = st.text_input(t("send.name"), value=Path(name).stem)
mode = st.radio(
    t("send.when"),
    ["now", "later"],
    horizontal=True,
    format_func=lambda m: t(f"send.when.{m}"),
    label_visibility="collapsed",
)
send_at = None
if mode == "later":
    tomorrow = (datetime.now(JST) + timedelta(days=1)).date()
    day = st.date_input(t("send.date"), value=tomorrow, min_value=datetime.now(JST).date())
    clock = st.time_input(t("send.time"), value=time(10, 0), step=timedelta(minutes=15))
    send_at = datetime.combine(day, clock, tzinfo=JST)
policy = st.radio(
    t("send.quiet"),
    ["refuse", "defer"],
    horizontal=True,
    format_func=lambda p: t(f"send.quiet.{p}"),
)
urgent = st.toggle(t("send.urgent"))
reason = st.text_input(t("send.urgent_reason")) if urgent else None
quiet = svc.quiet_hours()
starts = send_at or datetime.now(JST)
if quiet.contains(starts) and not urgent:
    st.warning(
        t(
            f"send.quiet_warning.{policy}",
            window=quiet.label(),
            end=japan_time(quiet.end_after(starts)),
        )
    )

blocked = None
if sent:
    blocked = t("send.already_sent")
elif status.remaining <= 0:
    blocked = t("send.none_left")
elif selection.units > status.remaining:
    blocked = t("send.short", short=selection.units - status.remaining)
elif not selection.recipients:
    blocked = t("send.nobody")
if blocked:
    st.warning(blocked)
expires = svc.links_expire_on(result, send_at)
if expires is not None:  # R11: short links live a set time; say so before sending
    st.warning(t("send.links_expire", date=expires, days=svc.link_retention_days()))

key = confirmation_key(state["send_nonce"], result, selection.rows, send_at, send_name)


def _close_dialog() -> None:
    state["confirming"] = False


# Open while state["confirming"] is set, so the dialog survives its own reruns.
@st.dialog(t("send.confirm_title"), on_dismiss=_close_dialog)
def confirm() -> None:
    contract = svc.contract()
    when = japan_time(send_at) if send_at else t("send.when.now")
    st.markdown(
        t(
            "send.confirm_body",
            recipients=selection.recipients,
            units=selection.units,
            after=status.remaining - selection.units,
            sender=contract.sender_number,
            when=when,
        )
    )
    st.markdown(t("yen.confirm", yen=f"{svc.cost_yen(selection.units):,}"))  # issue 16
    if st.button(t("send.go"), type="primary"):
        try:
            info = svc.confirm(
                result,
                name=send_name,
                key=key,
                actor=actor(),
                send_at=send_at,
                rows=selection.rows,
                quiet_policy=policy,
                urgent_reason=reason if urgent else None,
                template_name=state.get("template_name"),
            )
        except SmsError as exc:
            st.error(str(exc))
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
    if st.button(t("send.new")):
        state.pop("campaign_id", None)
        state["send_nonce"] = secrets.token_hex(8)
        st.rerun(scope="app")


progress()
