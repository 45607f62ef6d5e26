"""The errors' texts in each language, by stable code (``SmsError.key``).

English is the error's own message (``str(err)``): it names the same values, so only
languages other than English need a text here. A code without its own entry falls back to
its class's (``input``, ``roster``, ``quota``…), which says what kind of problem it is.
Texts are formatted with the error's ``params``; a value a text names but the error lacks
is left out rather than failing.
"""

from __future__ import annotations

# The class defaults: what a person can still be told when no finer text exists.
GENERIC: dict[str, dict[str, str]] = {
    "error": {"ja": "処理できませんでした。もう一度お試しください。"},
    "input": {"ja": "入力内容に誤りがあります。内容を確認してください。"},
    "roster": {"ja": "名簿ファイルを読み込めません。ファイルの内容を確認してください。"},
    "template": {"ja": "本文を作成できません。差し込みタグを確認してください。"},
    "config": {"ja": "設定に誤りがあります。管理者に連絡してください。"},
    "quota": {
        "ja": "この送信には{needed:,}通が必要ですが、残りは{remaining:,}通です"
        "（{shortfall:,}通不足）。送信は行われていません。"
    },
    "access": {"ja": "この操作を行う権限がありません。"},
    "state": {"ja": "現在の状態ではこの操作はできません。"},
    "provider": {"ja": "SMS事業者との通信に失敗しました。"},
    "unexpected": {"ja": "予期しないエラーが発生しました。管理者に連絡してください。"},
}

# Where in a roster: prefixed to a roster error's text when it names a row or column.
WHERE: dict[str, dict[str, str]] = {
    "row_column": {"ja": "{row}行目・「{column}」列: "},
    "row": {"ja": "{row}行目: "},
    "column": {"ja": "「{column}」列: "},
}

# One entry per stable code raised somewhere in sms_core (grep ``key="``).
ERRORS: dict[str, dict[str, str]] = {
    "template.unknown_tag": {
        "ja": "差し込みタグ「{{{{{tag}}}}}」は名簿にありません。使えるタグ: {available}"
    },
    "template.empty": {"ja": "本文が空です。空のSMSは送信できません。"},
    "send.sample": {
        "ja": "サンプル名簿はプレビューを試すためのもので、送信できません。"
        "自分の名簿ファイルをアップロードしてください。"
    },
}
