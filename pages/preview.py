"""Recipient preview: upload a roster, write a body, see who can receive and the cost."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from sms_core.errors import SmsError
from sms_core.export import csv_bytes
from sms_core.i18n import t
from sms_core.preview import REASONS, PreviewCache

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "roster_sample_cp932.csv"
# st.dataframe sends every row to the browser; past this the table is cut (the CSV is whole).
SHOWN_ROWS = 5_000

lang = st.session_state.get("lang", "ja")
cache: PreviewCache = st.session_state.setdefault("preview_cache", PreviewCache())

st.title(t("preview.title", lang))
st.caption(t("preview.intro", lang))

upload = st.file_uploader(t("preview.upload", lang), type=["csv", "txt", "xlsx"])
use_sample = st.toggle(t("preview.sample", lang), value=upload is None and SAMPLE.exists())
body = st.text_area(t("preview.body", lang), value=t("preview.body_default", lang), height=120)

if upload is not None:
    data, name = upload.getvalue(), upload.name
elif use_sample and SAMPLE.exists():
    data, name = SAMPLE.read_bytes(), SAMPLE.name
else:
    st.stop()

try:
    result = cache.preview(data, name, body)
except SmsError as exc:
    st.error(str(exc))
    st.stop()

roster = result.assessment.roster
summary = result.summary
st.caption(
    t(
        "preview.file_loaded",
        lang,
        name=roster.source_name,
        encoding=roster.encoding,
        rows=roster.num_rows,
    )
)
st.caption(f"{t('preview.tags', lang)}: " + "  ".join(f"{{{{{n}}}}}" for n in roster.tag_names()))

cols = st.columns(4)
cols[0].metric(t("preview.rows", lang), f"{summary.rows:,}")
cols[1].metric(t("preview.eligible", lang), f"{summary.eligible:,}")
cols[2].metric(t("preview.units", lang), f"{summary.total_units:,}")
cols[3].metric(
    t("preview.segments", lang),
    f"{summary.total_segments:,}",
    help=t("preview.segments_help", lang),
)
if summary.repaired:
    st.info(f"{t('preview.repaired', lang)}: {summary.repaired:,}")
if summary.empty_tag_rows:
    st.warning(f"{t('preview.empty_tags', lang)}: {summary.empty_tag_rows:,}")

st.subheader(t("preview.excluded", lang))
reason_words = {code: t(f"reason.{code}", lang) for code in REASONS}
st.dataframe(
    {
        t("preview.reason", lang): [reason_words[c] for c in REASONS],
        t("preview.count", lang): [summary.reasons[c] for c in REASONS],
    },
    hide_index=True,
)
chosen = st.multiselect(t("preview.filter", lang), REASONS, format_func=reason_words.get)
frame = result.frame()
if chosen:
    frame = frame[frame["reason"].isin(chosen)]
frame = frame.assign(reason=frame["reason"].map(reason_words))
st.dataframe(frame.head(SHOWN_ROWS), hide_index=True)

st.download_button(
    t("preview.download", lang),
    data=lambda: csv_bytes(result.export_table()),
    file_name=f"preview_{Path(roster.source_name).stem}.csv",
    mime="text/csv",
    on_click="ignore",
)
