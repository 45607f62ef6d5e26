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
    # A column with no header, named by its spreadsheet letter ("column E").
    "row_letter": {"ja": "{row}行目・{letter}列: "},
    "letter": {"ja": "{letter}列: "},
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
    # A browser session whose account an admin disabled meanwhile, or none signed in.
    "session.disabled": {"ja": "このアカウントは無効になっています。管理者に連絡してください。"},
    "session.signed_out": {"ja": "先にログインしてください。"},
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
    "contract.start": {"ja": "契約の開始月を選んでください（契約は月の1日から始まります）。"},
    "contract.none": {
        "ja": "SMSの契約が登録されていません。先に「設定」で契約を登録してください。"
    },
    "contract.ended": {
        "ja": "SMSの契約は{month}で終了しています。"
        "「設定」で新しい契約を登録するまで送信できません。"
    },
    # The monthly quota: a send's units are reserved in the month it goes out in, and a
    # contract change must keep every month's sends.
    "quota.short": {
        "ja": "{month}の残りは{remaining:,}通で、この送信に必要な{needed:,}通に"
        "{shortfall:,}通足りません。送信は行われていません。"
    },
    "quota.short_edit": {
        "ja": "{month}の残りは{remaining:,}通で、変更後の送信に必要な{needed:,}通に"
        "{shortfall:,}通足りません。変更は保存されていません。"
    },
    "quota.outside_contract": {
        "ja": "{month}はSMSの契約期間（{start}〜{end}）外のため、送信できません。"
        "契約期間内の日時を選ぶか、「設定」で契約を見直してください。"
    },
    "quota.contract_removed": {
        "ja": "送信の処理中にSMSの契約が削除されました。送信は行われていません。"
    },
    "quota.busy": {
        "ja": "{month}の残り通数が短い間に何度も変わったため、通数を確保できませんでした。"
        "送信は行われていません。もう一度お試しください。"
    },
    "quota.units_taken": {
        "ja": "月間通数を{units:,}通にはできません。"
        "{month}はすでに{taken:,}通が使用済みまたは予約済みです。"
    },
    "quota.period_leaves_out": {
        "ja": "新しい契約期間（{start}〜{end}）には{month}が含まれませんが、"
        "{month}にはすでに{taken:,}通の使用または予約があります。"
        "先にその月の送信を取り消してください。"
    },
    "month.format": {"ja": "月は「2026-12」の形で入力してください（入力: {value}）。"},
    # Opt-outs
    "optout.number": {"ja": "「{number}」は電話番号の形式ではありません。"},
    "optout.encoding": {
        "ja": "ファイルの文字コードを読み取れません。UTF-8かShift_JISで保存してください。"
    },
    "optout.too_many": {"ja": "一度に登録できるのは{max:,}行までです。"},
    "optout.line_empty": {"ja": "{line}行目に電話番号がありません。"},
    "optout.unreadable": {"ja": "配信停止のファイル「{path}」を読み込めません。"},
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
    "test_send.no_number": {"ja": "テスト送信先の携帯電話番号を入力してください。"},
    "test_send.no_phone": {
        "ja": "先に「設定」で自分の携帯電話番号を登録してください。"
        "テスト送信はその番号にだけ送られます。"
    },
    "campaign.not_pausable": {
        "ja": "送信 #{id} は完了・取り消し済みか、すでに一時停止中のため、一時停止できません。"
    },
    "campaign.not_paused": {"ja": "送信 #{id} は一時停止中ではないため、再開できません。"},
    # Send time, name and deadline (New send, History, the command line). Times are
    # Japan time, written as the pages show them.
    "send.time_passed": {
        "ja": "{at}（日本時間）はすでに過ぎています。これから先の日時を指定してください。"
    },
    "send.quiet_hours": {
        "ja": "{at}は送信停止時間帯（{window}、日本時間）に入っています。"
        "時刻を変えるか、朝まで延期するか、緊急として理由を記入してください。"
    },
    "send.urgent_reason": {"ja": "緊急として送る理由を記入してください（記録されます）。"},
    "send.deadline": {
        "ja": "送信期限（{until}）は送信開始（{at}、日本時間）より後にしてください。"
    },
    "send.name": {"ja": "送信名を入力してください（送信履歴で探すときに使います）。"},
    "send.no_body": {"ja": "本文を入力するか、テンプレートを選んでください。"},
    "send.no_roster_name": {
        "ja": "名簿ファイルの名前が分かりません。ファイルを選び直してください。"
    },
    "send.no_key": {
        "ja": "送信を確定できませんでした。画面を読み込み直して、もう一度お試しください。"
    },
    "ratelimit.rate": {
        "ja": "送信速度の上限は、1秒あたりの通数を0より大きい数で指定してください（入力: {rate}）。"
    },
    # Editing a scheduled send, resending to the unreached (History)
    # Choosing the recipients and narrowing them (New send)
    "filter.no_column": {"ja": "名簿に「{column}」列がないため、この条件では絞り込めません。"},
    "plan.row_missing": {"ja": "{row}行目は名簿にありません。"},
    "plan.row_blocked": {"ja": "{row}行目の宛先にはSMSを送れません。"},
    "plan.chosen_twice": {"ja": "同じ宛先が2回選ばれています。"},
    "plan.same_number": {"ja": "{row}行目: 同じ電話番号が2回選ばれています。"},
    "plan.nobody": {"ja": "この送信を受け取れる宛先がありません。"},
    "plan.url_missing": {
        "ja": "{row}行目: URLタグ「{{{{{tag}}}}}」のアドレスが空です。"
        "アドレスを入力するか、この候補者を送信先から外してください。"
    },
    "time.format": {
        "ja": "「{text}」は日時として読み取れません。"
        "「2026-12-01 10:00」（日本時間）の形で入力してください。"
    },
    "reschedule.nothing": {"ja": "変更する日時・送信名・本文のいずれかを指定してください。"},
    "reschedule.not_scheduled": {
        "ja": "送信 #{id} は編集できません。"
        "編集できるのは、まだ始まっていない予約済みの送信だけです。"
    },
    "reschedule.started": {"ja": "送信 #{id} はすでに送信が始まっているため、編集できません。"},
    "reschedule.row_empty": {
        "ja": "名簿の{row}行目の宛先への本文が空になります。"
        "差し込む値が空でも文章が残る本文にしてください。"
    },
    "resend.not_finished": {
        "ja": "送信 #{id} はまだ終わっていないため、再送できません。"
        "完了するまで待つか、取り消してから再送してください。"
    },
    "resend.nobody": {
        "ja": "送信 #{id} には再送できる未達の宛先がありません（除外: 配信停止 {optouts:,}、"
        "確認中 {open:,}、再送済み {resent:,}、マスク済み {masked:,}）。"
    },
    # Erasing a candidate's data by number
    "erase.waiting": {
        "ja": "この番号へのメッセージがまだ送信待ちです（送信 {ids}）。"
        "送信を取り消すか、送信が終わってから削除してください。"
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
    "settings.frequency_cap": {
        "ja": "1日あたりの送信上限は1〜{max:,}の整数で入力してください（入力: {value}）。"
    },
    "settings.unit_price": {
        "ja": "単価は1通あたりの円で、「8」や「7.5」のように数字で入力してください"
        "（入力: {value}）。"
    },
    "settings.unit_price_range": {
        "ja": "単価は0〜{max:,}円、小数点以下2桁までで入力してください（入力: {value}）。"
    },
    "settings.notify_format": {
        "ja": "通知の形式は Slack か Teams から選んでください（入力: {value}）。"
    },
    "settings.threshold": {
        "ja": "しきい値は「0.1」のような割合か、「10%」のような百分率で入力してください"
        "（入力: {value}）。"
    },
    "settings.threshold_range": {
        "ja": "しきい値は0〜1（0%〜100%）の範囲で入力してください（入力: {value}）。"
    },
    "provider.no_sender": {
        "ja": "Twilioの送信元（送信元番号またはメッセージングサービス）がサーバーに"
        "設定されていないため、選べません。"
    },
    "provider.secrets_file": {
        "ja": "サーバーの認証情報ファイルを読み込めないため、送信プロバイダ「{provider}」を"
        "使えません。サーバーの管理担当者にファイルの内容を確認してもらってください。"
    },
    "provider.seconds": {
        "ja": "送信プロバイダ「{provider}」の待ち時間の設定が正しくありません。"
        "サーバーの管理担当者に設定を確認してもらってください。"
    },
    # Candidate lookup
    "lookup.not_a_phone": {"ja": "「{number}」は検索できる電話番号ではありません。"},
    "lookup.one_of": {"ja": "応募者IDか電話番号のどちらか一方を入力してください。"},
    # New send (issue 15)
    "template.unknown_tag": {
        "ja": "差し込みタグ「{{{{{tag}}}}}」は名簿にありません。使えるタグ: {available}"
    },
    "send.sample": {
        "ja": "サンプル名簿はプレビューを試すためのもので、送信できません。"
        "自分の名簿ファイルをアップロードしてください。"
    },
    # The message body
    "body.too_long": {
        "ja": "本文が{chars:,}文字あります。1回の送信で送れるのは{max:,}文字までです。"
    },
    "body.url_too_long": {
        "ja": "URLが{chars:,}文字あり、1通（{max:,}文字）に収まりません。"
        "URLを短くしてください: {url}"
    },
    "template.unclosed": {
        "ja": "差し込みタグが「{{{{」で始まっていますが「}}}}」で閉じられていません。"
    },
    "template.empty_tag": {"ja": "本文に中身のない差し込みタグ「{{{{}}}}」があります。"},
    "template.url_address": {
        "ja": "URLタグ「{{{{{tag}}}}}」には http:// または https:// で始まるアドレスが必要です。"
    },
    "reschedule.no_new_url": {
        "ja": "予約済みの送信の本文にURLタグは追加できません。"
        "取り消して、名簿から送信し直してください。"
    },
    "reschedule.unknown_tag": {
        "ja": "予約済みの送信の編集では「{{{{{tag}}}}}」を差し込めません（名簿は保存されません）。"
        "使えるタグ: {available}"
    },
    "reschedule.has_links": {
        "ja": "短縮URLを含む送信の本文は編集できません（日時と送信名は変更できます）。"
        "取り消して、名簿から送信し直してください。"
    },
    # Roster files (R21, R22): the row and column are put in front (WHERE).
    "roster.cannot_open": {"ja": "ファイル「{path}」を開けません。"},
    "roster.empty": {"ja": "ファイルが空です。"},
    "roster.xls": {
        "ja": "古いExcel形式（.xls）は読み込めません。"
        "Excelで「Excelブック（.xlsx）」または「CSV」として保存し直してください。"
    },
    "roster.too_many_rows": {
        "ja": "{rows:,}行あります。名簿は{max:,}行までです。ファイルを分けてください。"
    },
    "roster.too_big": {
        "ja": "ファイルが{mib:,}MBあります。名簿は{max:,}MBまでです。ファイルを分けてください。"
    },
    "roster.too_many_columns": {"ja": "列が{columns:,}列あります。名簿は{max:,}列までです。"},
    "roster.binary": {
        "ja": "CSVのテキストファイルではありません（バイナリデータを含んでいます）。"
        "Excelから「CSV UTF-8」または「CSV」で書き出してください。"
    },
    "roster.nul": {
        "ja": "この行にNUL文字（バイナリデータ）があります。CSVのテキストファイルでないか、"
        "ファイルが壊れています。Excelから「CSV UTF-8」または「CSV」で書き出し直してください。"
    },
    "roster.encoding": {
        "ja": "UTF-8でもShift_JIS（CP932）でもない文字があります。"
        "Excelから「CSV UTF-8」または「CSV」で書き出し直してください。"
    },
    "roster.not_utf8_row": {
        "ja": "UTF-8のファイルですが、この行はUTF-8ではありません（Shift_JISの文字か、"
        "壊れた文字があります）。Excelからファイル全体を「CSV UTF-8」で書き出し直してください。"
    },
    "roster.utf8_in_cp932": {
        "ja": "Shift_JIS（CP932）のファイルですが、この行はUTF-8です。"
        "Excelからファイル全体を「CSV UTF-8」で書き出し直してください。"
    },
    "roster.mixed_encodings": {
        "ja": "ファイルに複数の文字コードが混在しています。"
        "Excelから「CSV UTF-8」で書き出し直してください。"
    },
    "roster.utf16_damaged": {
        "ja": "UTF-16（Unicodeテキスト）のファイルですが、この行が壊れています。"
        "Excelから書き出し直してください。"
    },
    "roster.not_cp932_value": {
        "ja": "この値はShift_JIS（CP932）の文字ではありません。"
        "Excelからファイルを書き出し直してください。"
    },
    "roster.no_header": {"ja": "1行目に見出し（列名）がありません。"},
    "roster.blank_header": {"ja": "この列には見出し（列名）がありません。"},
    "roster.header_twice": {"ja": "同じ見出しが2回あります。どちらかの名前を変えてください。"},
    "roster.header_twins": {
        "ja": "見出し「{first}」と「{second}」は全角・半角、大文字・小文字、空白、"
        "「_」の違いしかないため区別できません。どちらかの名前を変えてください。"
    },
    "roster.open_quote": {
        "ja": '引用符（"）で始まる値が閉じられていないか、閉じた引用符の後に文字があります。'
    },
    "roster.cell_count": {"ja": "この行は{cells}列ありますが、見出しは{width}列です。"},
    "roster.not_csv": {"ja": "CSVとして読み込めません。Excelから書き出し直してください。"},
    "roster.broken_xlsx": {
        "ja": "Excelファイルが壊れているか、.xlsx形式ではありません。"
        "Excelで開き、.xlsx（またはCSV）として保存し直してからアップロードしてください。"
    },
    "roster.xlsx_too_big": {
        "ja": "Excelファイルの中身が大きすぎます。名簿はもっと小さいはずです。"
        "CSVで保存し直してください。"
    },
    "roster.sheet_too_wide": {
        "ja": "シートが{bottom:,}行目・{right}列まで広がっていて、"
        "名簿として扱える範囲を超えています。名簿以外のセルを削除するか、CSVで保存してください。"
    },
    "roster.outside_header": {"ja": "見出しのない列に値があります。"},
    "roster.header_below": {
        "ja": "見出し（列名）が{at}行目にあります。見出しが1行目になるよう、"
        "その上の行（タイトルやメモ）を削除してください。"
    },
    "roster.sheet_empty": {"ja": "シートが空です。"},
    "roster.no_kind_column": {
        "ja": "候補者区分の列（区分 / kind。「新卒」か「中途」）がありません。"
        "このファイルの列: {columns}"
    },
    "roster.unknown_field": {"ja": "「{field}」は名簿の項目ではありません。項目: {fields}"},
    "roster.mapped_column_missing": {
        "ja": "「{field}」に割り当てた列がファイルにありません。このファイルの列: {columns}"
    },
    "roster.unknown_kind": {
        "ja": "候補者区分が「{value}」です。「新卒」か「中途」を入れてください。"
    },
    "roster.empty_kind": {"ja": "候補者区分が空です。「新卒」か「中途」を入れてください。"},
    "roster.no_phone_column": {"ja": "名簿に次の列がありません: {columns}"},
    "roster.message_too_long": {
        "ja": "この値を差し込むと本文が{chars:,}文字になります。"
        "1人に送れるのは{max:,}文字までです。"
    },
}

# Appended when an error stands for several rows (``others`` in its params).
OTHERS: dict[str, str] = {"ja": "（ほかに同様の行が{others:,}行あります）"}
