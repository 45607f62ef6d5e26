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

# One entry per stable code raised somewhere in sms_core (grep ``key="``). An ``en`` text
# here replaces the error's own English message in the dashboard (e.g. to name no
# environment variable, or to say the same for every refused sign-in).
ERRORS: dict[str, dict[str, str]] = {
    # Sign-in and passwords: one message for an unknown name, a wrong password and a
    # locked account, so a refusal never tells which names exist.
    "login.refused": {
        "ja": "ユーザー名またはパスワードが正しくないか、ログインが一時的に制限されています。"
        "しばらくしてからもう一度お試しください。",
        "en": "Wrong user name or password, or sign-in is paused for a while. Try again later.",
    },
    "login.not_user": {
        "ja": "このアカウントはまだ登録されていません。管理者に登録を依頼してください。"
    },
    "password.short": {"ja": "パスワードは{min}文字以上にしてください。"},
    "password.wrong": {"ja": "現在のパスワードが正しくありません。"},
    "password.same": {"ja": "現在とは異なる新しいパスワードを設定してください。"},
    # Users
    "user.name": {"ja": "ユーザー名は1〜200文字で入力してください。"},
    "user.role": {"ja": "役割を選んでください。"},
    "user.exists": {"ja": "ユーザー「{name}」はすでに登録されています。"},
    "user.missing": {"ja": "ユーザー「{name}」は登録されていません。"},
    "user.phone_not_mobile": {
        "ja": "「{number}」はSMSを受け取れる日本の携帯電話番号ではありません"
        "（070・080・090で始まる11桁）。"
    },
    # Templates and drafts
    "template.empty": {"ja": "名前を入力してください。"},
    "template.name_too_long": {"ja": "名前は{limit}文字以内にしてください。"},
    "template.body_empty": {"ja": "本文を入力してください。"},
    "body.empty": {"ja": "本文が空です。空のSMSは送信できません。"},
    "template.body_too_long": {"ja": "本文は{limit:,}文字以内にしてください。"},
    "template.race": {
        "ja": "テンプレート「{name}」が同時に保存されました。もう一度お試しください。"
    },
    "template.missing": {"ja": "テンプレート「{name}」は見つかりません。"},
    "template.exists": {"ja": "テンプレート「{name}」はすでにあります。別の名前にしてください。"},
    "draft.missing": {"ja": "下書き #{id} は見つかりません。"},
    # Contract
    "contract.whole": {"ja": "通数と期間は整数で入力してください。"},
    "contract.sender_mode": {"ja": "送信元番号の種類を選んでください。"},
    "contract.shared_number": {
        "ja": "共通番号を使う場合、番号の入力は不要です。専用番号の場合のみ入力してください。"
    },
    "contract.number_missing": {
        "ja": "専用番号を入力してください（SMS事業者から割り当てられた番号）。"
    },
    "contract.number_invalid": {"ja": "専用番号「{number}」は電話番号の形式ではありません。"},
    "contract.number_shared": {"ja": "この番号は共通番号です。専用番号を入力してください。"},
    "contract.units": {"ja": "月間通数は1〜{max:,}通で入力してください。"},
    "contract.too_short": {"ja": "契約期間は{min}か月以上にしてください。"},
    "contract.too_long": {"ja": "契約期間は{max}か月以内にしてください。"},
    "contract.race": {"ja": "契約が同時に変更されました。もう一度お試しください。"},
    # Opt-outs
    "optout.number": {"ja": "「{number}」は電話番号の形式ではありません。"},
    "optout.encoding": {
        "ja": "ファイルの文字コードを読み取れません。UTF-8かShift_JISで保存してください。"
    },
    "optout.too_many": {"ja": "一度に登録できるのは{max:,}行までです。"},
    "optout.line_empty": {"ja": "{line}行目に電話番号がありません。"},
    "optout.no_column": {
        "ja": "電話番号の列が見つかりません。見出しを「電話番号」にするか、"
        "番号だけを1列に並べたファイルにしてください。"
    },
    # Sends
    "campaign.missing": {"ja": "送信 #{id} は見つかりません。"},
    "campaign.not_cancellable": {
        "ja": "送信 #{id} はすでに完了または取り消し済みのため、取り消せません。"
    },
    "test_send.not_mobile": {
        "ja": "この番号にはテスト送信できません。"
        "携帯電話の番号（070・080・090）を入力してください。"
    },
    # Administration's settings
    "provider.not_configured": {
        "ja": "送信プロバイダ「{provider}」の認証情報がサーバーに設定されていないため、"
        "選べません。",
        "en": "The provider {provider} has no credentials on the server, so it cannot be chosen.",
    },
    "settings.provider_unknown": {"ja": "送信プロバイダ「{provider}」は使えません。"},
    "settings.unknown": {"ja": "この設定項目はありません。"},
    "settings.empty": {
        "ja": "値を入力してください。初期値に戻す場合は「初期値に戻す」を押してください。",
        "en": "Give a value, or press “Back to the default”.",
    },
    "settings.invalid": {"ja": "この値は使えません。入力内容を確認してください。"},
    "settings.quiet_hours": {
        "ja": "送信停止時間帯は「21:00-08:00」の形で指定してください（入力: {text}）。"
    },
    "settings.short_url": {"ja": "短縮URLは http:// または https:// で始めてください。"},
    # New send (issue 15)
    "template.unknown_tag": {
        "ja": "差し込みタグ「{{{{{tag}}}}}」は名簿にありません。使えるタグ: {available}"
    },
    "send.sample": {
        "ja": "サンプル名簿はプレビューを試すためのもので、送信できません。"
        "自分の名簿ファイルをアップロードしてください。"
    },
}
