"""Every string the dashboard shows, in Japanese (default) and English.

Codes stay stable English ids in data and exports (R3); people see these words.
"""

from __future__ import annotations

DEFAULT_LANGUAGE = "ja"
LANGUAGES = {"ja": "日本語", "en": "English"}

_CATALOGUE: dict[str, dict[str, str]] = {
    # R3 reason codes
    "reason.ok": {"ja": "送信可", "en": "Can receive"},
    "reason.missing": {"ja": "番号未登録", "en": "No number"},
    "reason.ip_phone": {"ja": "IP電話（050）", "en": "IP phone (050)"},
    "reason.landline": {"ja": "固定電話・その他", "en": "Landline or service number"},
    "reason.invalid": {"ja": "無効な番号", "en": "Invalid number"},
    "reason.duplicate": {"ja": "重複", "en": "Duplicate"},
    "reason.opted_out": {"ja": "配信停止", "en": "Opted out"},
    "kind.new_grad": {"ja": "新卒", "en": "New graduate"},
    "kind.mid_career": {"ja": "中途", "en": "Mid-career"},
    "field.mobile": {"ja": "携帯電話番号", "en": "Mobile"},
    "field.phone1": {"ja": "電話番号1", "en": "Phone 1"},
    "field.phone2": {"ja": "電話番号2", "en": "Phone 2"},
    # Preview page
    "app.title": {"ja": "SMS配信ダッシュボード", "en": "SMS dashboard"},
    "nav.preview": {"ja": "宛先プレビュー", "en": "Recipient preview"},
    "preview.title": {"ja": "宛先プレビュー", "en": "Recipient preview"},
    "preview.intro": {
        "ja": "応募者名簿（CSV・Excel）をアップロードすると、"
        "SMSを受け取れる候補者と費用を行ごとに確認できます。",
        "en": "Upload a candidate roster (CSV or Excel) to see, row by row, who can "
        "receive an SMS and what it costs.",
    },
    "preview.upload": {"ja": "名簿ファイル", "en": "Roster file"},
    "preview.body": {"ja": "本文", "en": "Message"},
    "preview.body_default": {
        "ja": "{{氏名}}様\n明日の面接のご案内です。詳細: {{url:https://recruit.example.co.jp/interview}}",
        "en": "Dear {{name}}, a reminder of tomorrow's interview: "
        "{{url:https://recruit.example.co.jp/interview}}",
    },
    "preview.tags": {"ja": "使えるタグ", "en": "Available tags"},
    "preview.rows": {"ja": "名簿の行数", "en": "Rows"},
    "preview.eligible": {"ja": "送信可能", "en": "Can receive"},
    "preview.units": {"ja": "合計通数", "en": "Total units"},
    "preview.segments": {"ja": "キャリア分割数", "en": "Carrier segments"},
    "preview.segments_help": {
        "ja": "契約の通数は70文字ごとに1通です。"
        "携帯会社は長文を67文字ずつに分けて数えるため、数が異なることがあります。",
        "en": "The contract bills 70 characters per unit; carriers split long texts "
        "into 67-character segments, so the two counts can differ.",
    },
    "preview.excluded": {"ja": "除外理由", "en": "Excluded, by reason"},
    "preview.reason": {"ja": "判定", "en": "Result"},
    "preview.count": {"ja": "件数", "en": "Rows"},
    "preview.filter": {"ja": "理由で絞り込み", "en": "Filter by reason"},
    "preview.download": {"ja": "プレビューをCSVでダウンロード", "en": "Download the preview (CSV)"},
    "preview.repaired": {"ja": "先頭の0を補った番号", "en": "Numbers with a restored leading 0"},
    "preview.empty_tags": {
        "ja": "差し込み項目が空の送信対象者",
        "en": "Recipients with an empty merge-tag value",
    },
    "preview.sample": {"ja": "サンプル名簿で試す", "en": "Try the sample roster"},
    "preview.chars": {"ja": "本文の文字数（タグ除く）", "en": "Characters (without tags)"},
    "preview.file_loaded": {
        "ja": "読み込み: {name}（{encoding}、{rows:,}行）",
        "en": "Loaded {name} ({encoding}, {rows:,} rows)",
    },
}


def t(key: str, lang: str = DEFAULT_LANGUAGE, **values: object) -> str:
    """The text for ``key`` in ``lang`` (falling back to Japanese), formatted with values."""
    entry = _CATALOGUE[key]
    text = entry.get(lang) or entry[DEFAULT_LANGUAGE]
    return text.format(**values) if values else text


def missing_translations() -> list[str]:
    """Keys lacking a text in one of :data:`LANGUAGES` (a test keeps this empty)."""
    return [key for key, entry in _CATALOGUE.items() if any(not entry.get(x) for x in LANGUAGES)]
