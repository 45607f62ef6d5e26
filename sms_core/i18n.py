"""Every string the dashboard shows, in Japanese (default) and English.

Codes stay stable English ids in data and exports (R3); people see these words.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from sms_core.error_texts import ERRORS, GENERIC, OTHERS, WHERE
from sms_core.errors import RosterError, SmsError

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
    # Issue 12: over the daily frequency cap (preview and hand-over), past the deadline.
    "reason.frequency_cap": {"ja": "送信回数の上限", "en": "Daily message limit reached"},
    "reason.deadline": {"ja": "送信期限切れ", "en": "Deadline passed"},
    "kind.new_grad": {"ja": "新卒", "en": "New graduate"},
    "kind.mid_career": {"ja": "中途", "en": "Mid-career"},
    "field.mobile": {"ja": "携帯電話番号", "en": "Mobile"},
    "field.phone1": {"ja": "電話番号1", "en": "Phone 1"},
    "field.phone2": {"ja": "電話番号2", "en": "Phone 2"},
    # Navigation
    "ui.choose": {"ja": "選択してください", "en": "Choose"},
    "nav.new_send": {"ja": "新規送信", "en": "New send"},
    "nav.templates": {"ja": "テンプレート・下書き", "en": "Templates & drafts"},
    "nav.settings": {"ja": "設定", "en": "Settings"},
    "nav.overview": {"ja": "概要", "en": "Overview"},
    "nav.history": {"ja": "送信履歴", "en": "History"},
    "overview.title": {"ja": "概要", "en": "Overview"},
    "overview.today": {"ja": "本日の送信数", "en": "Sent today"},
    "overview.upcoming": {"ja": "予約済みの送信", "en": "Scheduled sends"},
    "overview.failures": {"ja": "直近7日間の失敗理由", "en": "Failures, last 7 days"},
    "overview.none": {"ja": "ありません。", "en": "None."},
    "optout.none": {
        "ja": "配信停止に登録された番号はありません。",
        "en": "No number has opted out.",
    },
    "ui.forbidden": {
        "ja": "このページを使う権限がありません。",
        "en": "Your role does not give access to this page.",
    },
    "login.title": {"ja": "ログイン", "en": "Sign in"},
    "login.oidc": {"ja": "組織のアカウントでログイン", "en": "Sign in with your organisation"},
    "login.logout": {"ja": "ログアウト", "en": "Sign out"},
    "login.name": {"ja": "ユーザー名", "en": "User name"},
    "login.password": {"ja": "パスワード", "en": "Password"},
    "login.submit": {"ja": "ログイン", "en": "Sign in"},
    "login.help": {
        "ja": "アカウントは管理者が作成します。",
        "en": "An admin creates accounts.",
    },
    "login.as": {"ja": "{name}（{role}）としてログイン中", "en": "Signed in as {name} ({role})"},
    "login.change_first": {
        "ja": "初回ログインです。新しいパスワードを設定してください。",
        "en": "First sign-in: choose a new password.",
    },
    "login.current": {"ja": "現在のパスワード", "en": "Current password"},
    "login.new": {"ja": "新しいパスワード（10文字以上）", "en": "New password (10+ characters)"},
    "login.again": {"ja": "新しいパスワード（確認）", "en": "New password again"},
    "login.change": {"ja": "パスワードを変更", "en": "Change password"},
    "login.mismatch": {"ja": "確認用のパスワードが一致しません。", "en": "The passwords differ."},
    "role.admin": {"ja": "管理者", "en": "Admin"},
    "role.operator": {"ja": "担当者", "en": "Operator"},
    "role.analyst": {"ja": "分析担当", "en": "Analyst"},
    "nav.admin": {"ja": "管理", "en": "Administration"},
    "nav.audit": {"ja": "監査ログ", "en": "Audit trail"},
    "admin.optout_key_dev": {
        "ja": (
            "配信停止リストの番号を保護する鍵（SMS_OPTOUT_KEY）が未設定のため、"
            "公開されている開発用の鍵で保存しています。デモ以外で使う前に、推測できない値を"
            "環境変数 SMS_OPTOUT_KEY（または .streamlit/secrets.toml）に設定してください。"
            "鍵を変えると、それまでの配信停止の登録は照合できなくなります。"
        ),
        "en": (
            "SMS_OPTOUT_KEY is not set, so opted-out numbers are protected with the published "
            "development key. Before real use, set an unguessable SMS_OPTOUT_KEY in the "
            "environment (or .streamlit/secrets.toml). Changing the key later makes the "
            "opt-outs stored until then unmatchable."
        ),
    },
    "admin.title": {"ja": "管理", "en": "Administration"},
    "demo.banner": {
        "ja": "デモデータを表示しています（実際の送信履歴ではありません）。",
        "en": "Showing demo data (not a real send history).",
    },
    "demo.title": {"ja": "デモデータ", "en": "Demo data"},
    "demo.help": {
        "ja": "初回起動時に入れたデモの送信履歴・テンプレート・契約を削除します。"
        "自社で作成したデータは残ります。",
        "en": "Removes the demo history, templates and contract put in at the first start. "
        "Your own data stays.",
    },
    "demo.confirm": {"ja": "デモデータを削除してよろしいですか", "en": "Remove the demo data"},
    "demo.clear": {"ja": "デモデータを削除", "en": "Remove demo data"},
    "demo.cleared": {
        "ja": "デモデータを削除しました（キャンペーン{campaigns}件・メッセージ{messages}件）。",
        "en": "Removed the demo data ({campaigns} campaigns, {messages} messages).",
    },
    "settings.ask_admin": {
        "ja": "SMSの契約がまだありません。管理者に設定を依頼してください。",
        "en": "There is no SMS contract yet; ask an admin to set one up.",
    },
    "settings.contract_view": {
        "ja": "月{units:,}通、{start}〜{end}、送信元 {sender}",
        "en": "{units:,} units a month, {start} to {end}, sender {sender}",
    },
    "users.title": {"ja": "ユーザー", "en": "Users"},
    "users.name": {"ja": "ユーザー名", "en": "Name"},
    "users.role": {"ja": "役割", "en": "Role"},
    "users.kind": {"ja": "ログイン方法", "en": "Sign-in"},
    "users.local": {"ja": "パスワード", "en": "Password"},
    "users.disabled": {"ja": "状態", "en": "Status"},
    "users.is_disabled": {"ja": "無効", "en": "Disabled"},
    "users.last_login": {"ja": "最終ログイン", "en": "Last sign-in"},
    "users.oidc": {"ja": "組織アカウント（OIDC）", "en": "Organisation account (OIDC)"},
    "users.add": {"ja": "ユーザーを追加", "en": "Add user"},
    "users.added": {
        "ja": "追加しました。初回パスワード（この画面でのみ表示）：{password}",
        "en": "Added. One-time password (shown only now): {password}",
    },
    "users.added_oidc": {
        "ja": "追加しました。組織のアカウントでログインできます。",
        "en": "Added; they sign in with their organisation account.",
    },
    "users.pick": {"ja": "ユーザー", "en": "User"},
    "users.phone": {
        "ja": "本人の携帯電話番号（テスト送信用）",
        "en": "Their mobile number (test sends)",
    },
    "users.phone_help": {
        "ja": "そのユーザーが「自分の番号にテスト送信」で使う番号です。"
        "空欄で保存すると消去します。",
        "en": "Where that user's own test sends go. Save it blank to clear it.",
    },
    "users.phone_save": {"ja": "番号を設定", "en": "Set the number"},
    "users.phone_saved": {
        "ja": "{name} のテスト送信先を末尾{tail}の番号にしました。",
        "en": "{name}'s test sends now go to the number ending {tail}.",
    },
    "users.phone_cleared": {
        "ja": "{name} のテスト送信先を消去しました。",
        "en": "{name}'s test-send number was cleared.",
    },
    "users.disable": {"ja": "無効にする", "en": "Disable"},
    "users.enable": {"ja": "有効にする", "en": "Enable"},
    "audit.title": {"ja": "監査ログ", "en": "Audit trail"},
    "audit.action": {"ja": "操作で絞り込み", "en": "Filter by action"},
    "audit.page": {"ja": "ページ", "en": "Page"},
    "audit.at": {"ja": "日時（日本時間）", "en": "When (Japan time)"},
    "audit.actor": {"ja": "操作した人", "en": "Who"},
    "audit.what": {"ja": "操作", "en": "Action"},
    "audit.detail": {"ja": "詳細", "en": "Details"},
    "audit.export": {"ja": "CSVでエクスポート", "en": "Export as CSV"},
    "history.title": {"ja": "送信履歴", "en": "History"},
    "history.page": {"ja": "ページ（全{pages}ページ）", "en": "Page (of {pages})"},
    "history.campaign": {"ja": "詳細を見る送信", "en": "Send to inspect"},
    "history.cancel": {"ja": "送信 #{id} を取り消す", "en": "Cancel send #{id}"},
    "history.messages": {"ja": "メッセージ", "en": "Messages"},
    "history.state": {"ja": "状態で絞り込み", "en": "Filter by state"},
    "history.all": {"ja": "すべて", "en": "All"},
    "history.template": {"ja": "テンプレートで絞り込み", "en": "Filter by template"},
    "history.reason": {"ja": "失敗理由で絞り込み", "en": "Filter by failure reason"},
    "history.export": {"ja": "CSVでエクスポート", "en": "Export as CSV"},
    "history.clicks": {"ja": "短縮URLのクリック", "en": "Short-link clicks"},
    "history.clicks_none": {
        "ja": "この送信には短縮URLがありません。",
        "en": "This send has no short links.",
    },
    "history.click_recipients": {"ja": "短縮URLの宛先", "en": "Recipients with links"},
    "history.clicked_recipients": {"ja": "クリックした宛先", "en": "Recipients who clicked"},
    "history.click_rate": {"ja": "クリック率", "en": "Click rate"},
    "history.first_click": {"ja": "最初のクリック", "en": "First click"},
    "history.clicks_by_recipient": {"ja": "宛先別のクリック", "en": "Clicks per recipient"},
    # The link service's page for an unknown or expired short link (issue 3)
    "link.not_found.title": {
        "ja": "リンクが見つかりません",
        "en": "Link not found",
    },
    "link.not_found.body": {
        "ja": "このリンクは存在しないか、有効期限が切れています。",
        "en": "This link does not exist or has expired.",
    },
    "send.links_expire": {
        "ja": "本文の短縮URLは{date}（日本時間）に無効になります（保存期間{days}日）。"
        "リンク先をそれより長く使う場合は、管理者に保存期間の延長を依頼するか、"
        "別の案内を用意してください。",
        "en": "The short links in this message stop working on {date} (Japan time), "
        "{days} days after sending. If the target must be reachable longer, ask an admin "
        "for a longer retention or plan another way to reach it.",
    },
    # Settings
    "settings.title": {"ja": "設定（SMS連携）", "en": "Settings (SMS)"},
    "settings.contract_ended": {
        "ja": "SMSの契約は {end} で終了しました。送信するには契約を更新してください。",
        "en": "The SMS contract ended with {end}. Renew it to send again.",
    },
    "settings.no_contract": {
        "ja": "SMSの送信には契約が必要です。月間通数と期間（3か月以上）を設定してください。",
        "en": "Sending SMS needs a contract: set the monthly units and a period of at "
        "least 3 months.",
    },
    "settings.quota": {"ja": "{month}の送信可能数", "en": "Units for {month}"},
    "settings.usage_chart": {
        "ja": "過去12か月の月別送信数（通）",
        "en": "Units used per month, past 12 months",
    },
    "settings.contract": {"ja": "契約", "en": "Contract"},
    "settings.optouts": {"ja": "配信停止リスト", "en": "Opt-out list"},
    "settings.config": {"ja": "接続設定", "en": "Configuration"},
    "quota.cap": {"ja": "上限", "en": "Cap"},
    "quota.used": {"ja": "送信済み", "en": "Used"},
    "quota.reserved": {"ja": "予約中", "en": "Reserved"},
    "quota.remaining": {"ja": "残り", "en": "Remaining"},
    "contract.units": {"ja": "月間通数", "en": "Units per month"},
    "contract.start": {"ja": "開始月", "en": "First month"},
    "contract.months": {"ja": "契約期間（か月）", "en": "Length (months)"},
    "contract.months_help": {"ja": "最短3か月からです。", "en": "At least 3 months."},
    "contract.sender": {"ja": "送信元番号", "en": "Sender number"},
    "contract.sender.shared": {"ja": "共通番号（無料）", "en": "Shared number (free)"},
    "contract.sender.dedicated": {"ja": "貴社専用番号（有料）", "en": "Dedicated number (paid)"},
    "contract.number": {
        "ja": "専用番号（専用番号の場合）",
        "en": "Dedicated number (dedicated only)",
    },
    "contract.save": {"ja": "契約を保存", "en": "Save the contract"},
    "contract.saved": {"ja": "契約を保存しました。", "en": "Contract saved."},
    "optout.number": {"ja": "電話番号", "en": "Number"},
    "optout.source": {"ja": "登録元", "en": "Source"},
    "optout.source.link": {"ja": "本人（配信停止URL）", "en": "Candidate (opt-out link)"},
    "optout.source.operator": {"ja": "担当者", "en": "Operator"},
    "optout.source.import": {"ja": "ファイル取込", "en": "Import"},
    "optout.page.title": {"ja": "SMS配信停止の確認", "en": "Stop SMS messages?"},
    "optout.page.body": {
        "ja": "このボタンを押すと、今後この番号にSMSをお送りしません。",
        "en": "Press the button and no more SMS will be sent to this number.",
    },
    "optout.page.button": {"ja": "配信を停止する", "en": "Stop messages"},
    "optout.done.title": {"ja": "配信を停止しました", "en": "Messages stopped"},
    "optout.done.body": {
        "ja": "今後この番号にSMSをお送りしません。",
        "en": "No more SMS will be sent to this number.",
    },
    "optout.failed.title": {"ja": "配信停止できませんでした", "en": "Could not stop messages"},
    "optout.failed.body": {
        "ja": "ページの有効期限が切れました。SMSのリンクをもう一度開いてください。",
        "en": "This page has expired. Open the link in the SMS again.",
    },
    "send.optout_hint": {
        "ja": "本文にURLまたは広告らしい文言があります。特定電子メール法に沿って、"
        "配信停止URL {{optout}} を入れることをおすすめします。",
        "en": "The message has a URL or looks promotional: under Japan's anti-spam law, "
        "add the opt-out link {{optout}}.",
    },
    "optout.reason": {"ja": "理由", "en": "Reason"},
    "optout.by": {"ja": "登録者", "en": "Added by"},
    "optout.at": {"ja": "登録日時", "en": "Added at"},
    "optout.add": {"ja": "配信停止に追加", "en": "Add to the opt-out list"},
    "optout.added": {"ja": "追加しました。", "en": "Added."},
    "optout.already": {"ja": "すでに登録されています。", "en": "Already on the list."},
    "optout.import": {"ja": "ファイルから一括登録", "en": "Import from a file"},
    "optout.import_button": {"ja": "一括登録する", "en": "Import"},
    "optout.imported": {
        "ja": "{added:,}件を追加しました（登録済み {already:,}件）。",
        "en": "{added:,} added ({already:,} already listed).",
    },
    "optout.remove": {"ja": "削除する番号", "en": "Number to remove"},
    "optout.remove_button": {"ja": "削除", "en": "Remove"},
    "config.provider": {"ja": "送信プロバイダ", "en": "Provider"},
    "config.quiet": {"ja": "送信停止時間帯（日本時間）", "en": "Quiet hours (Japan time)"},
    "config.short_url": {"ja": "短縮URL", "en": "Short URL base"},
    "config.frequency_cap": {
        "ja": "1日あたりの送信上限（1番号・日本時間）",
        "en": "Messages per number per day (Japan time)",
    },
    "config.frequency_cap_help": {
        "ja": "送信をまたいで数えます。上限を超える宛先はプレビューで「送信回数の上限」と表示され、"
        "送信時にも再確認されます。",
        "en": "Counted across sends. Recipients over it show as 'Daily message limit reached' "
        "in the preview, and are checked again as messages go out.",
    },
    "config.provider_help": {
        "ja": "認証情報はサーバー側で設定します。設定されていない事業者は選べません。",
        "en": "Credentials are set up on the server; a provider without them cannot be chosen.",
    },
    "config.quiet_start": {"ja": "停止の開始（日本時間）", "en": "Quiet from (Japan time)"},
    "config.quiet_end": {"ja": "停止の終了（日本時間）", "en": "Quiet until (Japan time)"},
    "config.quiet_help": {
        "ja": "この時間帯に始まる送信は拒否するか朝まで延期します（緊急の送信を除く）。",
        "en": "Sends starting in this window are refused or deferred to its end "
        "(urgent sends excepted).",
    },
    "config.short_url_help": {
        "ja": "URLタグの短縮URLの先頭。リンクサービスの公開URLを指定します。",
        "en": "The start of the short URLs behind URL tags: the link service's public address.",
    },
    "config.save": {"ja": "保存", "en": "Save"},
    "provider.sandbox": {"ja": "サンドボックス（テスト用）", "en": "Sandbox (for tests)"},
    "provider.karaden": {"ja": "Karaden", "en": "Karaden"},
    "provider.twilio": {"ja": "Twilio", "en": "Twilio"},
    "config.saved": {"ja": "保存しました", "en": "Saved"},
    "config.reset": {"ja": "初期値に戻す", "en": "Back to the default"},
    "config.from_db": {
        "ja": "この画面で設定（{by}、{at}）。すべてのワーカーに適用されます。",
        "en": "Set here by {by} at {at}; every worker uses it.",
    },
    "config.from_environment": {
        "ja": "サーバーの初期設定の値",
        "en": "The server's initial setting",
    },
    "config.from_default": {"ja": "既定値", "en": "The default"},
    "test.title": {"ja": "テスト送信", "en": "Test send"},
    "test.number": {"ja": "送信先の携帯電話番号", "en": "Mobile number to send to"},
    "test.body": {"ja": "本文", "en": "Message"},
    "test.body_default": {
        "ja": "SMS送信のテストです。このメッセージへの返信は不要です。",
        "en": "This is a test of SMS sending. No reply is needed.",
    },
    "test.help": {
        "ja": "{provider} 経由で今すぐ1通送ります。"
        "今月の送信可能数から差し引かれ、送信履歴に残ります。",
        "en": "Sends one message now through {provider}. "
        "It counts against this month's units and appears in the history.",
    },
    "test.send": {"ja": "テスト送信する", "en": "Send the test"},
    "test.progress": {
        "ja": "テスト送信 #{id}：{state}（{parts}）",
        "en": "Test send #{id}: {state} ({parts})",
    },
    # New send
    "send.title": {"ja": "新規送信", "en": "New send"},
    "send.upload_first": {
        "ja": "名簿ファイルをアップロードしてください。",
        "en": "Upload a roster file to begin.",
    },
    "send.load": {"ja": "テンプレート・下書きから読み込む", "en": "Load a template or draft"},
    "send.load_pick": {"ja": "読み込む本文", "en": "Body to load"},
    "send.load_button": {"ja": "読み込む", "en": "Load"},
    "send.quiet_warning.refuse": {
        "ja": "送信時刻が送信停止時間帯（{window}、日本時間）に入っています。"
        "このままでは送信できません。時刻を変えるか、朝まで延期するか、緊急として理由を記入してください。",
        "en": "The send time is inside quiet hours ({window}, Japan time): it will be refused. "
        "Choose another time, defer it to the morning, or mark it urgent with a reason.",
    },
    "send.quiet_warning.defer": {
        "ja": "送信時刻が送信停止時間帯（{window}、日本時間）に入っているため、"
        "{end} に延期されます。",
        "en": "The send time is inside quiet hours ({window}, Japan time): "
        "it will go out at {end}.",
    },
    "send.mapping": {"ja": "列の対応", "en": "Column mapping"},
    "send.mapping_help": {
        "ja": "名簿のどの列を各項目として使うかを選びます。ATSの標準の見出しは自動で対応します。",
        "en": "Choose which column of the roster holds each field. "
        "The ATS export's standard headers are matched automatically.",
    },
    "send.mapping_missing": {
        "ja": "見出しから分からない項目があります：{fields}。下で列を選んでください。",
        "en": "These fields were not recognised from the headers: {fields}. "
        "Choose their columns below.",
    },
    "send.mapping_none": {"ja": "（未選択）", "en": "(not chosen)"},
    "send.from_template": {
        "ja": "テンプレート「{name}」から作成（履歴でテンプレート別に集計されます）",
        "en": "Made from the template “{name}” (history can be sliced by template)",
    },
    "send.counter": {
        "ja": "本文（差し込み前）: {chars:,}文字 ・ {units:,}通 ・ キャリア分割 {segments:,}",
        "en": "Body without tags: {chars:,} characters · {units:,} units · "
        "{segments:,} carrier segments",
    },
    "send.tag_pick": {"ja": "差し込みタグ", "en": "Merge tag"},
    "send.tag_insert": {"ja": "本文に挿入", "en": "Insert into the body"},
    "send.save_name": {"ja": "保存名", "en": "Name to save under"},
    "send.save_template": {"ja": "テンプレート保存", "en": "Save as template"},
    "send.save_draft": {"ja": "下書き保存", "en": "Save as draft"},
    "send.saved": {"ja": "保存しました。", "en": "Saved."},
    "send.narrow": {
        "ja": "宛先を絞り込む項目（LINE登録、イベント予約、卒業年度など）",
        "en": "Narrow recipients by (LINE registration, event booking, graduation year …)",
    },
    "send.recipients": {"ja": "送信先", "en": "Recipients"},
    "send.remaining_after": {"ja": "送信後の残り（今月）", "en": "Left after (this month)"},
    "send.when": {"ja": "送信日時", "en": "When"},
    "send.when.now": {"ja": "今すぐ送信", "en": "Send now"},
    "send.when.later": {"ja": "予約送信", "en": "Schedule"},
    "send.name": {"ja": "送信名（履歴に表示）", "en": "Name (shown in history)"},
    "send.date": {"ja": "日付（日本時間）", "en": "Date (Japan time)"},
    "send.deadline": {"ja": "送信期限を設定する", "en": "Set a deadline"},
    "send.deadline_date": {"ja": "送信期限の日付（日本時間）", "en": "Deadline date (Japan time)"},
    "send.deadline_time": {"ja": "送信期限の時刻（日本時間）", "en": "Deadline time (Japan time)"},
    "send.time": {"ja": "時刻（日本時間）", "en": "Time (Japan time)"},
    "send.quiet": {"ja": "送信停止時間帯にかかる場合", "en": "If it falls in quiet hours"},
    "send.quiet.refuse": {"ja": "送信しない", "en": "Refuse"},
    "send.quiet.defer": {"ja": "翌朝に延期", "en": "Defer to the morning"},
    "send.urgent": {
        "ja": "緊急連絡（悪天候・災害など）として停止時間帯でも送る",
        "en": "Urgent (weather, disaster): send even in quiet hours",
    },
    "send.urgent_reason": {"ja": "緊急の理由（記録されます）", "en": "Reason (recorded)"},
    "send.none_left": {
        "ja": "{month}の残り通数が0のため送信できません。",
        "en": "No units remain in {month}: nothing can be sent.",
    },
    "send.short": {
        "ja": "{month}の残り通数が{short:,}通足りません。宛先を絞り込むか契約を見直してください。",
        "en": "{short:,} units short in {month}: narrow the recipients or change the contract.",
    },
    # issue 11: the one send use case (New send shows the draft's own figures)
    "send.remaining_after_month": {"ja": "送信後の残り（{month}）", "en": "Left after ({month})"},
    "send.blocked.no_contract": {
        "ja": "SMSの契約がありません。設定で契約を登録してください。",
        "en": "There is no SMS contract: set one up in Settings.",
    },
    "send.blocked.contract_ended": {
        "ja": "SMSの契約は{end}で終了しています。送信するには新しい契約を登録してください。",
        "en": "The SMS contract ended with {end}: set up a new one to send.",
    },
    "send.blocked.outside_contract": {
        "ja": "{month}は契約期間外のため送信できません。",
        "en": "{month} is outside the contract: nothing can be sent then.",
    },
    "send.nobody": {"ja": "送信できる宛先がありません。", "en": "No recipient can receive this."},
    "send.review": {"ja": "内容を確認して送信", "en": "Review and send"},
    "send.confirm_title": {"ja": "送信内容の確認", "en": "Confirm the send"},
    "send.confirm_body": {
        "ja": "- 送信先: **{recipients:,}名**\n"
        "- 合計: **{units:,}通**（キャリア分割 {segments:,}）\n"
        "- 対象月: **{month}**\n- 送信後の残り（{month}）: **{after:,}通**\n"
        "- 送信元番号: **{sender}**\n- 送信日時: **{when}**",
        "en": "- Recipients: **{recipients:,}**\n- Total: **{units:,} units** "
        "({segments:,} carrier segments)\n- Month: **{month}**\n"
        "- Left after ({month}): **{after:,} units**\n- Sender: **{sender}**\n- When: **{when}**",
    },
    "send.go": {"ja": "送信する", "en": "Send"},
    "send.progress": {"ja": "送信 #{id}: {state}", "en": "Send #{id}: {state}"},
    "send.new": {"ja": "新しい送信を作成", "en": "Start a new send"},
    "send.already_sent": {
        "ja": "この内容は送信を確定しました。"
        "続けて送るときは「新しい送信を作成」を押してください。",
        "en": "This send is confirmed. To send again, press “Start a new send”.",
    },
    "send.sent_banner": {
        "ja": "送信 #{id} を確定しました。次の送信は「新しい送信を作成」から始められます。",
        "en": "Send #{id} is confirmed. Start the next one with “Start a new send”.",
    },
    "send.send_only": {
        "ja": "このSMSは送信専用です（送信専用・返信不可）。受信者が返信しても届きません。"
        "返信が必要な場合は、電話番号やURLを本文に記載してください。",
        "en": "SMS sent here is send-only: recipients cannot reply. If you need an "
        "answer, put a phone number or a URL in the message.",
    },
    "send.roster_in_use": {"ja": "使用中の名簿: {name}", "en": "Roster in use: {name}"},
    "send.upload_kept": {
        "ja": "このファイルは使えません。前の名簿「{name}」と入力内容はそのまま残っています。",
        "en": "This file cannot be used. The previous roster “{name}” and your work are kept.",
    },
    "send.restored": {
        "ja": "前回の作業を復元しました（{time} 自動保存）。",
        "en": "Your unfinished send was restored (autosaved {time}).",
    },
    "send.autosave_note": {
        "ja": "作成中の内容は自動保存されます（名簿は最長24時間、送信の確定で削除）。",
        "en": "Your work is autosaved (the roster for at most 24 hours; deleted once sent).",
    },
    "send.sample_note": {
        "ja": "サンプル名簿はプレビューを試すためのもので、送信はできません。",
        "en": "The sample roster is for trying the preview only; it cannot be sent.",
    },
    "send.blocked.sample": {
        "ja": "サンプル名簿には送信できません。自分の名簿ファイルをアップロードしてください。",
        "en": "The sample roster cannot be sent to. Upload your own roster file.",
    },
    "send.upload_caption": {
        "ja": "CSV・TSV・TXT（Unicodeテキスト）・XLSX形式（1ファイル256MBまで）。"
        "ここにドラッグ＆ドロップするか、「ファイルを選択」を押してください。",
        "en": "CSV, TSV, TXT (Unicode text) or XLSX (up to 256 MB). Drag and drop the file "
        "here, or press “Browse files”.",
    },
    "send.st.upload_button": {"ja": "ファイルを選択", "en": "Browse files"},
    "send.st.dropzone": {
        "ja": "ここにファイルをドラッグ＆ドロップ",
        "en": "Drag and drop the file here",
    },
    "send.st.input_instructions": {"ja": "Ctrl+Enterで確定", "en": "Press Ctrl+Enter to apply"},
    "send.cancel": {"ja": "キャンセル", "en": "Cancel"},
    "send.confirm.intro": {
        "ja": "次の内容で送信します。内容を確認してください。",
        "en": "This is what will be sent. Check it before sending.",
    },
    "send.confirm.sample": {
        "ja": "送信例（{row}行目の宛先：{chars:,}文字・{units}通・キャリア分割 {segments}）",
        "en": "Sample message (row {row}: {chars:,} characters, {units} units, "
        "{segments} carrier segments)",
    },
    "send.confirm.longest": {
        "ja": "最長のメッセージ（{row}行目の宛先："
        "{chars:,}文字・{units}通・キャリア分割 {segments}）",
        "en": "Longest message (row {row}: {chars:,} characters, {units} units, "
        "{segments} carrier segments)",
    },
    "send.confirm.same": {
        "ja": "全員が同じ長さのメッセージです。",
        "en": "Every recipient gets a message of the same length.",
    },
    "send.confirm.facts": {
        "ja": "- 送信名: **{name}**\n- 名簿ファイル: **{file}**\n- 絞り込み: **{filters}**\n"
        "- 送信先: **{recipients:,}名**\n"
        "- 通数: 1名あたり **{per}通**、合計 **{units:,}通**"
        "（キャリア分割 {segments:,}）\n"
        "- 請求・契約の対象: **通数**（{units:,}通）。キャリア分割数は請求の対象外です。\n"
        "- 概算費用: **{yen}円**（1通 {price}円 × {units:,}通、税別）\n"
        "- 対象月: **{month}**\n- 送信後の残り（{month}）: **{after:,}通** "
        "（月の上限 {cap:,}通）\n"
        "- 送信元番号: **{sender}**\n- 送信日時: **{when}**",
        "en": "- Name: **{name}**\n- Roster file: **{file}**\n- Narrowed by: **{filters}**\n"
        "- Recipients: **{recipients:,}**\n"
        "- Units: **{per}** per recipient, **{units:,} units** in total "
        "({segments:,} carrier segments)\n"
        "- Billed: **units** ({units:,}); carrier segments are not billed.\n"
        "- Estimated cost: **¥{yen}** (¥{price} × {units:,} units, before tax)\n"
        "- Month: **{month}**\n- Left after ({month}): **{after:,} units** "
        "(monthly cap {cap:,})\n"
        "- Sender: **{sender}**\n- When: **{when}**",
    },
    "send.confirm.range": {"ja": "{low}〜{high}", "en": "{low}–{high}"},
    "send.confirm.no_filters": {"ja": "なし（全員）", "en": "none (everyone)"},
    "send.confirm.send_only": {
        "ja": "送信専用・返信不可のSMSとして送信されます。",
        "en": "Sent as send-only SMS: recipients cannot reply.",
    },
    "campaign.draft": {"ja": "下書き", "en": "Draft"},
    "campaign.scheduled": {"ja": "予約済み", "en": "Scheduled"},
    "campaign.sending": {"ja": "送信中", "en": "Sending"},
    "campaign.finished": {"ja": "完了", "en": "Finished"},
    "campaign.cancelled": {"ja": "取消", "en": "Cancelled"},
    "campaign.paused": {"ja": "一時停止", "en": "Paused"},
    "campaign.quiet_hours": {
        "ja": "送信停止時間帯のため待機中",
        "en": "Waiting for quiet hours to end",
    },
    "campaign.held": {"ja": "保留（契約・上限）", "en": "Held (contract or quota)"},
    "hold.no_contract": {
        "ja": "送信する月に契約がありません",
        "en": "No contract covers the month it goes out in",
    },
    "hold.quota": {
        "ja": "送信する月の残り通数が足りません",
        "en": "Not enough units left in the month it goes out in",
    },
    "hold.new_month": {
        "ja": "月が変わったため通数を移しています",
        "en": "Moving its units to the new month",
    },
    "campaign.missing": {"ja": "不明", "en": "Missing"},
    "message.queued": {"ja": "送信待ち", "en": "Queued"},
    "message.sending": {"ja": "送信中", "en": "Sending"},
    "message.accepted": {"ja": "受付済み", "en": "Accepted"},
    "message.delivered": {"ja": "到達", "en": "Delivered"},
    "message.failed": {"ja": "失敗", "en": "Failed"},
    "message.unknown": {"ja": "確認中", "en": "Unknown"},
    "message.cancelled": {"ja": "取消", "en": "Cancelled"},
    "message.expired": {"ja": "送信期限切れ", "en": "Expired (deadline)"},
    "message.withheld": {"ja": "送信見合わせ", "en": "Withheld"},
    # Templates and drafts
    "templates.title": {"ja": "テンプレート・下書き", "en": "Templates & drafts"},
    "templates.templates": {"ja": "テンプレート", "en": "Templates"},
    "templates.drafts": {"ja": "下書き", "en": "Drafts"},
    "templates.name": {"ja": "名前", "en": "Name"},
    "templates.chars": {"ja": "文字数（タグ除く）", "en": "Characters (without tags)"},
    "templates.updated": {"ja": "更新日時", "en": "Updated"},
    "templates.edit": {"ja": "編集するテンプレート", "en": "Template to edit"},
    "templates.new": {"ja": "（新規作成）", "en": "(new template)"},
    "templates.save": {"ja": "保存", "en": "Save"},
    "templates.delete": {"ja": "削除", "en": "Delete"},
    "templates.promote": {"ja": "テンプレートにする", "en": "Make it a template"},
    "templates.exists": {
        "ja": "テンプレート「{name}」はすでにあります。上書きしますか？",
        "en": "A template named '{name}' already exists. Overwrite it?",
    },
    "templates.overwrite": {"ja": "上書きする", "en": "Overwrite"},
    "templates.keep": {"ja": "上書きしない", "en": "Keep the template"},
    "templates.no_drafts": {"ja": "下書きはありません。", "en": "No drafts."},
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
    # Charts (sms_core.reports.figures)
    "chart.monthly_success.title": {
        "ja": "月別SMS送信成功数（過去{n}か月）",
        "en": "Successful SMS sends per month (past {n} months)",
    },
    "chart.daily_sends.title": {
        "ja": "日別送信数（過去{n}日）",
        "en": "Messages per day (past {n} days)",
    },
    "chart.funnel.title": {"ja": "配信ファネル", "en": "Delivery funnel"},
    "chart.failure_reasons.title": {"ja": "失敗理由", "en": "Failure reasons"},
    "chart.quota_gauge.title": {
        "ja": "今月の通数（使用＋予約 / 上限 {cap:,}）",
        "en": "Units this month (used + reserved of {cap:,})",
    },
    "chart.quota_by_month.title": {"ja": "月別の通数（上限・使用・予約）", "en": "Units per month"},
    "chart.units_per_campaign.title": {"ja": "キャンペーン別の通数", "en": "Units per campaign"},
    "chart.clicks_per_campaign.title": {
        "ja": "キャンペーン別クリック率",
        "en": "Click-through per campaign",
    },
    "chart.axis.month": {"ja": "月", "en": "Month"},
    "chart.axis.day": {"ja": "日付", "en": "Day"},
    "chart.axis.messages": {"ja": "件数", "en": "Messages"},
    "chart.axis.units": {"ja": "通数", "en": "Units"},
    "chart.axis.campaign": {"ja": "キャンペーン", "en": "Campaign"},
    "chart.axis.reason": {"ja": "理由", "en": "Reason"},
    "chart.axis.click_rate": {"ja": "クリック率", "en": "Click rate"},
    "chart.legend.state": {"ja": "状態", "en": "State"},
    "chart.series.successful": {"ja": "送信成功", "en": "Successful"},
    "chart.series.delivered": {"ja": "到達確認済み", "en": "Delivered"},
    "chart.series.cap": {"ja": "上限", "en": "Cap"},
    "chart.series.used": {"ja": "使用", "en": "Used"},
    "chart.series.reserved": {"ja": "予約", "en": "Reserved"},
    "chart.series.units_used": {"ja": "使用", "en": "Used"},
    "chart.series.units_pending": {"ja": "送信待ち", "en": "Pending"},
    "chart.series.units_released": {"ja": "返却", "en": "Released"},
    "chart.stage.queued": {"ja": "送信依頼", "en": "Queued"},
    "chart.stage.accepted": {"ja": "事業者受付", "en": "Accepted by the provider"},
    "chart.stage.delivered": {"ja": "到達", "en": "Delivered"},
    "chart.stage.failed": {"ja": "失敗", "en": "Failed"},
    "chart.stage.clicked": {"ja": "クリック（宛先）", "en": "Clicked (recipients)"},
    "chart.reason.none": {"ja": "（理由なし）", "en": "(no reason given)"},
    "chart.empty": {"ja": "データがありません", "en": "No data"},
    # Issue 16: everyday ops tools
    "nav.lookup": {"ja": "応募者検索", "en": "Candidate lookup"},
    "lookup.title": {"ja": "応募者検索", "en": "Candidate lookup"},
    "lookup.by": {"ja": "検索方法", "en": "Look up by"},
    "lookup.by.candidate": {"ja": "応募者ID", "en": "Candidate ID (応募者ID)"},
    "lookup.by.phone": {"ja": "電話番号", "en": "Phone number"},
    "lookup.query": {"ja": "応募者IDまたは電話番号", "en": "Candidate ID or phone number"},
    "lookup.search": {"ja": "検索", "en": "Search"},
    "lookup.none": {
        "ja": "この応募者に送信したメッセージはありません。",
        "en": "No message was sent to this candidate.",
    },
    "lookup.found": {"ja": "{n}件のメッセージ", "en": "{n} messages"},
    "history.pause": {"ja": "送信 #{id} を一時停止", "en": "Pause send #{id}"},
    "history.resume": {"ja": "送信 #{id} を再開", "en": "Resume send #{id}"},
    "history.resend": {"ja": "未達の宛先に再送", "en": "Resend to the unreached"},
    "history.resend_plan": {
        "ja": "未達 {recipients:,}人・{units:,}通（{yen}円）。除外: 配信停止 {opted_out}、"
        "確認中 {still_open}、再送済み {already_resent}",
        "en": "{recipients:,} unreached, {units:,} units ({yen} yen). Left out: "
        "{opted_out} opted out, {still_open} being settled, {already_resent} already resent",
    },
    "history.resend_button": {"ja": "再送する", "en": "Resend"},
    "history.resent": {"ja": "再送 #{id} を作成しました。", "en": "Resend #{id} created."},
    "history.edit": {"ja": "予約送信を編集", "en": "Edit the scheduled send"},
    "history.held_no_contract": {
        "ja": "送信 #{id} は保留中です：送信する月の契約がありません。"
        "管理者が契約を登録すると自動で再開します。",
        "en": "Send #{id} is held: its month has no contract. "
        "It resumes by itself once an admin sets one.",
    },
    "history.held_quota": {
        "ja": "送信 #{id} は保留中です：送信する月の上限に残りを送る空きがありません。"
        "上限を引き上げるか、ほかの予約を取り消すと自動で再開します。",
        "en": "Send #{id} is held: its month's cap has no room for the rest. "
        "It resumes by itself once the cap is raised or another send is cancelled.",
    },
    "history.held_new_month": {
        "ja": "送信 #{id} は保留中です：月をまたいだため、"
        "残りの通数を新しい月の上限へ移しています。まもなく再開します。",
        "en": "Send #{id} is held: it crossed into a new month, and the rest moves to the "
        "new month's cap. It resumes shortly.",
    },
    "history.edit_date": {"ja": "送信日", "en": "Send date"},
    "history.edit_time": {"ja": "送信時刻", "en": "Send time"},
    "history.edit_name": {"ja": "送信名", "en": "Name"},
    "history.edit_body": {"ja": "本文", "en": "Body"},
    "history.edit_help": {
        "ja": "本文で使える差し込み項目は {{氏名}} と {{応募者ID}} だけです"
        "（名簿は保存されません）。",
        "en": "A body edit can use only {{氏名}} and {{応募者ID}} (rosters are not stored).",
    },
    "history.edit_save": {"ja": "変更を保存", "en": "Save changes"},
    "history.edited": {"ja": "送信 #{id} を変更しました。", "en": "Send #{id} changed."},
    "history.export_xlsx": {"ja": "Excelでエクスポート", "en": "Export as Excel"},
    "preview.download_xlsx": {
        "ja": "プレビューをExcelでダウンロード",
        "en": "Download the preview (Excel)",
    },
    "yen.amount": {"ja": "{yen}円", "en": "{yen} yen"},
    "yen.unset": {
        "ja": (
            "単価が未設定のため、金額は0円と表示されます。"
            "管理者が設定画面で単価（円/通）を設定してください。"
        ),
        "en": (
            "No unit price is set, so amounts show as 0 yen. "
            "An admin can set the unit price (yen per unit) in Settings."
        ),
    },
    "yen.preview": {
        "ja": "費用（概算）: {yen}円（単価 {price}円/通）・今月の利用額: {spend}円",
        "en": "Cost (estimate): {yen} yen ({price} yen per unit); spent this month: {spend} yen",
    },
    "yen.confirm": {"ja": "費用（概算）: {yen}円", "en": "Cost (estimate): {yen} yen"},
    "yen.cost": {"ja": "費用（概算）", "en": "Cost (estimate)"},
    "yen.month_spend": {"ja": "今月の利用額", "en": "Spent this month"},
    "yen.month_reserved": {"ja": "予約分の金額", "en": "Reserved, in yen"},
    "yen.unit_price": {"ja": "単価（円/通）", "en": "Unit price (yen per unit)"},
    "yen.save": {"ja": "単価を保存", "en": "Save the unit price"},
    "yen.saved": {"ja": "単価を保存しました。", "en": "Unit price saved."},
    "mytest.title": {"ja": "自分の番号にテスト送信", "en": "Test send to my own number"},
    "mytest.phone": {"ja": "自分の携帯電話番号", "en": "My mobile number"},
    "mytest.save_phone": {"ja": "番号を保存", "en": "Save the number"},
    "mytest.saved": {"ja": "番号を保存しました。", "en": "Number saved."},
    "mytest.none": {
        "ja": "テスト送信の前に自分の携帯電話番号を登録してください。",
        "en": "Set your own mobile number before a test send.",
    },
    "mytest.sent": {
        "ja": "テスト送信 #{id} を受け付けました。",
        "en": "Test send #{id} confirmed.",
    },
    "notify.title": {"ja": "チーム通知", "en": "Team notifications"},
    "notify.configured": {
        "ja": "通知先: {hint}（形式: {format}、失敗率 {failure} 超、残り {quota} 未満で通知）",
        "en": "Posting to {hint} ({format}; failures above {failure}, quota below {quota})",
    },
    "notify.not_configured": {
        "ja": "通知先のWebhook URLが未設定です（SMS_NOTIFY_WEBHOOK_URL または secrets.toml）。",
        "en": "No webhook URL is set (SMS_NOTIFY_WEBHOOK_URL or secrets.toml).",
    },
    "notify.finished.title": {
        "ja": "送信完了: #{id} {name}",
        "en": "Send finished: #{id} {name}",
    },
    "notify.counts": {"ja": "全{total:,}件: {counts}", "en": "{total:,} messages: {counts}"},
    "notify.failures.title": {
        "ja": "失敗が多い送信: #{id} {name}",
        "en": "Many failures: #{id} {name}",
    },
    "notify.failures": {
        "ja": "{total:,}件中 {failed:,}件が失敗（{ratio:.0%}、しきい値 {threshold:.0%}）",
        "en": "{failed:,} of {total:,} messages failed ({ratio:.0%}; threshold {threshold:.0%})",
    },
    "notify.quota.title": {
        "ja": "送信可能数が残りわずか: {month}",
        "en": "Few units left: {month}",
    },
    "notify.quota": {
        "ja": "残り {remaining:,}通 / 上限 {cap:,}通（しきい値 {threshold:.0%}）",
        "en": "{remaining:,} of {cap:,} units remain (threshold {threshold:.0%})",
    },
    # Column headers of Excel downloads (and the lookup table)
    "column.campaign_id": {"ja": "送信ID", "en": "Send"},
    "column.campaign": {"ja": "送信名", "en": "Send name"},
    "column.message_id": {"ja": "メッセージID", "en": "Message"},
    "column.recipient_row": {"ja": "名簿の行", "en": "Roster row"},
    "column.row": {"ja": "行", "en": "Row"},
    "column.part": {"ja": "分割", "en": "Part"},
    "column.part_index": {"ja": "分割番号", "en": "Part"},
    "column.part_count": {"ja": "分割数", "en": "Parts"},
    "column.candidate_id": {"ja": "応募者ID", "en": "Candidate ID"},
    "column.name": {"ja": "氏名", "en": "Name"},
    "column.kind": {"ja": "区分", "en": "Kind"},
    "column.source_field": {"ja": "使用した項目", "en": "Field used"},
    "column.phone": {"ja": "電話番号", "en": "Phone"},
    "column.e164": {"ja": "電話番号（国際形式）", "en": "Phone (E.164)"},
    "column.eligible": {"ja": "送信可", "en": "Can receive"},
    "column.reason": {"ja": "理由", "en": "Reason"},
    "column.repaired": {"ja": "先頭0補完", "en": "Leading 0 restored"},
    "column.message": {"ja": "本文", "en": "Message"},
    "column.body": {"ja": "本文", "en": "Body"},
    "column.chars": {"ja": "文字数", "en": "Characters"},
    "column.units": {"ja": "通数", "en": "Units"},
    "column.parts": {"ja": "分割数", "en": "Parts"},
    "column.segments": {"ja": "携帯会社の分割数", "en": "Carrier segments"},
    "column.empty_tags": {"ja": "空の差し込み項目", "en": "Empty merge tags"},
    "column.raw_phone": {"ja": "元の電話番号", "en": "Phone as written"},
    "column.state": {"ja": "状態", "en": "State"},
    "column.error_code": {"ja": "エラーコード", "en": "Error code"},
    "column.error_message": {"ja": "エラー内容", "en": "Error"},
    "column.attempts": {"ja": "試行回数", "en": "Attempts"},
    "column.created_at": {"ja": "作成日時", "en": "Created"},
    "column.accepted_at": {"ja": "受付日時", "en": "Accepted"},
    "column.delivered_at": {"ja": "到達日時", "en": "Delivered"},
    "column.failed_at": {"ja": "失敗日時", "en": "Failed"},
    "column.clicks": {"ja": "クリック数", "en": "Clicks"},
    "column.first_click_at": {"ja": "初回クリック", "en": "First click"},
    # Failure reasons as words (issue 15): providers' codes and texts map here, see
    # failure_reason(); the raw text stays in the export and History's expander.
    "failure.unknown_number": {"ja": "宛先不明", "en": "Unknown number"},
    "failure.out_of_area": {"ja": "圏外・電源オフ", "en": "Out of area or switched off"},
    "failure.rejected": {"ja": "受信拒否", "en": "Refused by the recipient"},
    "failure.landline": {"ja": "携帯電話以外の番号", "en": "Not a mobile number"},
    "failure.invalid_number": {"ja": "無効な番号", "en": "Invalid number"},
    "failure.carrier_error": {"ja": "携帯会社のエラー", "en": "Carrier error"},
    "failure.no_result": {"ja": "送達結果なし", "en": "No delivery result"},
    "failure.result_unknown": {"ja": "送達結果不明", "en": "Delivery result unknown"},
    "failure.cancelled": {"ja": "送信キャンセル", "en": "Cancelled"},
    "failure.send_error": {"ja": "送信エラー", "en": "Sending error"},
    "failure.body": {"ja": "本文の不備", "en": "Unusable message body"},
    "failure.busy": {"ja": "混雑のため未送信", "en": "Not sent (busy)"},
    "failure.config": {"ja": "接続設定の不備", "en": "Provider settings"},
    "failure.other": {"ja": "その他", "en": "Other"},
    "history.raw_reasons": {
        "ja": "SMS事業者からの理由（原文）",
        "en": "Reasons as the SMS provider gave them",
    },
    "history.raw_code": {"ja": "コード", "en": "Code"},
    "history.raw_text": {"ja": "原文", "en": "Text"},
    "history.cancel_confirm": {
        "ja": "送信 #{id}「{name}」を取り消します。未送信のメッセージは送られず、"
        "予約した通数は戻ります。",
        "en": "Send #{id} “{name}” will be cancelled: its unsent messages are not sent "
        "and its reserved units return.",
    },
    "history.cancel_sure": {"ja": "取り消してよろしいですか", "en": "Yes, cancel it"},
    "history.cancelled": {"ja": "送信 #{id} を取り消しました。", "en": "Send #{id} was cancelled."},
    # Table columns (sms_core.reports.labels): report column -> header
    "col.campaign_id": {"ja": "送信番号", "en": "Send no."},
    "col.name": {"ja": "名前", "en": "Name"},
    "col.send_name": {"ja": "送信名", "en": "Send name"},
    "col.template_name": {"ja": "テンプレート", "en": "Template"},
    "col.state": {"ja": "状態", "en": "State"},
    "col.scheduled_at": {"ja": "送信日時", "en": "Send time"},
    "col.created_at": {"ja": "作成日時", "en": "Created"},
    "col.quota_month": {"ja": "対象月", "en": "Month"},
    "col.recipients": {"ja": "宛先数", "en": "Recipients"},
    "col.units_reserved": {"ja": "予約通数", "en": "Units reserved"},
    "col.units_used": {"ja": "使用通数", "en": "Units used"},
    "col.messages": {"ja": "メッセージ数", "en": "Messages"},
    "col.queued": {"ja": "送信待ち", "en": "Queued"},
    "col.sending": {"ja": "送信中", "en": "Sending"},
    "col.accepted": {"ja": "受付済み", "en": "Accepted"},
    "col.delivered": {"ja": "到達", "en": "Delivered"},
    "col.failed": {"ja": "失敗", "en": "Failed"},
    "col.unknown": {"ja": "確認中", "en": "Unknown"},
    "col.cancelled": {"ja": "取消", "en": "Cancelled"},
    "col.message_id": {"ja": "メッセージ番号", "en": "Message no."},
    "col.recipient_row": {"ja": "名簿の行", "en": "Roster row"},
    "col.part": {"ja": "分割", "en": "Part"},
    "col.candidate_id": {"ja": "応募者ID", "en": "Candidate ID"},
    "col.person": {"ja": "氏名", "en": "Name"},
    "col.kind": {"ja": "区分", "en": "Kind"},
    "col.phone": {"ja": "電話番号", "en": "Number"},
    "col.body": {"ja": "本文", "en": "Message"},
    "col.units": {"ja": "通数", "en": "Units"},
    "col.reason": {"ja": "失敗理由", "en": "Failure reason"},
    "col.error_code": {"ja": "事業者のコード", "en": "Provider code"},
    "col.error_message": {"ja": "事業者の理由（原文）", "en": "Provider's reason"},
    "col.attempts": {"ja": "送信回数", "en": "Attempts"},
    "col.accepted_at": {"ja": "受付日時", "en": "Accepted"},
    "col.delivered_at": {"ja": "到達日時", "en": "Delivered"},
    "col.failed_at": {"ja": "失敗日時", "en": "Failed"},
    "col.links": {"ja": "短縮URL数", "en": "Links"},
    "col.clicks": {"ja": "クリック数", "en": "Clicks"},
    "col.first_click_at": {"ja": "最初のクリック", "en": "First click"},
    "col.last_click_at": {"ja": "最後のクリック", "en": "Last click"},
    "col.clicked_at": {"ja": "クリック日時", "en": "Clicked"},
    # Audit events as words (issue 15); unknown actions fall back to their code.
    "audit.action.campaign.confirm": {"ja": "送信を確定", "en": "Send confirmed"},
    "audit.action.campaign.cancel": {"ja": "送信を取り消し", "en": "Send cancelled"},
    "audit.action.campaign.pause": {"ja": "送信を一時停止", "en": "Send paused"},
    "audit.action.campaign.resume": {"ja": "送信を再開", "en": "Send resumed"},
    "audit.action.contract.set": {"ja": "契約を保存", "en": "Contract saved"},
    "audit.action.settings.change": {"ja": "接続設定を変更", "en": "Setting changed"},
    "audit.action.settings.reset": {"ja": "接続設定を初期値に戻す", "en": "Setting reset"},
    "audit.action.export.messages": {"ja": "送信履歴をエクスポート", "en": "Messages exported"},
    "audit.action.export.audit": {"ja": "監査ログをエクスポート", "en": "Audit trail exported"},
    "audit.action.login.success": {"ja": "ログイン", "en": "Signed in"},
    "audit.action.login.failure": {"ja": "ログイン失敗", "en": "Sign-in failed"},
    "audit.action.user.add": {"ja": "ユーザーを追加", "en": "User added"},
    "audit.action.user.disable": {"ja": "ユーザーを無効化", "en": "User disabled"},
    "audit.action.user.enable": {"ja": "ユーザーを有効化", "en": "User enabled"},
    "audit.action.user.password": {"ja": "パスワードを変更", "en": "Password changed"},
    "audit.action.optout.add": {"ja": "配信停止に追加", "en": "Opt-out added"},
    "audit.action.optout.remove": {"ja": "配信停止から削除", "en": "Opt-out removed"},
    "audit.action.optout.import": {"ja": "配信停止を一括登録", "en": "Opt-outs imported"},
    "audit.action.template.save": {"ja": "テンプレートを保存", "en": "Template saved"},
    "audit.action.template.delete": {"ja": "テンプレートを削除", "en": "Template deleted"},
    "audit.action.template.rename": {"ja": "テンプレート名を変更", "en": "Template renamed"},
    "audit.action.draft.promote": {"ja": "下書きをテンプレートに", "en": "Draft promoted"},
    "audit.action.retention.redact": {"ja": "保存期間切れの番号を消去", "en": "Old numbers erased"},
    "audit.action.demo.clear": {"ja": "デモデータを削除", "en": "Demo data removed"},
    "audit.action.erase": {"ja": "個人データを消去", "en": "Personal data erased"},
    "audit.field.autosaves": {"ja": "削除した下書き保存", "en": "autosaves deleted"},
    "audit.field.body_changed": {"ja": "本文の変更", "en": "body changed"},
    "audit.field.clicks": {"ja": "クリック", "en": "clicks"},
    "audit.field.contract": {"ja": "契約", "en": "contract"},
    "audit.field.deadline": {"ja": "送信期限", "en": "deadline"},
    "audit.field.draft": {"ja": "下書き", "en": "draft"},
    "audit.field.failures": {"ja": "失敗", "en": "failures"},
    "audit.field.format": {"ja": "形式", "en": "format"},
    "audit.field.kept_on_optout_list": {
        "ja": "配信停止リストに残す",
        "en": "kept on the opt-out list",
    },
    "audit.field.links": {"ja": "短縮URL", "en": "links"},
    "audit.field.overwrite": {"ja": "上書き", "en": "overwrite"},
    "audit.field.phone_tail": {"ja": "電話番号（下4桁）", "en": "number (last 4 digits)"},
    "audit.field.released_units": {"ja": "返却した通数", "en": "units released"},
    "audit.field.resend_of": {"ja": "再送元の送信番号", "en": "resend of"},
    "audit.field.source": {"ja": "登録元", "en": "source"},
    "audit.field.templates": {"ja": "テンプレート", "en": "templates"},
    "audit.field.wait": {"ja": "待ち時間", "en": "wait"},
    "audit.action.campaign.edit": {"ja": "予約送信の編集", "en": "scheduled send edited"},
    "audit.action.campaign.resend": {"ja": "未達の宛先に再送", "en": "resend to the unreached"},
    "audit.action.user.phone": {"ja": "自分の携帯番号の登録", "en": "own number set"},
    "audit.field.after": {"ja": "変更後", "en": "after"},
    "audit.field.before": {"ja": "変更前", "en": "before"},
    "audit.field.campaign": {"ja": "送信番号", "en": "send"},
    "audit.field.messages": {"ja": "メッセージ数", "en": "messages"},
    "audit.field.recipients": {"ja": "宛先数", "en": "recipients"},
    "audit.field.units": {"ja": "通数", "en": "units"},
    "audit.field.send_at": {"ja": "送信日時", "en": "send time"},
    "audit.field.urgent_reason": {"ja": "緊急の理由", "en": "urgent reason"},
    "audit.field.monthly_units": {"ja": "月間通数", "en": "units a month"},
    "audit.field.months": {"ja": "契約期間（か月）", "en": "months"},
    "audit.field.sender_mode": {"ja": "送信元", "en": "sender"},
    "audit.field.sender_number": {"ja": "送信元番号", "en": "sender number"},
    "audit.field.start_month": {"ja": "開始月", "en": "first month"},
    "audit.field.name": {"ja": "名前", "en": "name"},
    "audit.field.only": {"ja": "対象の操作", "en": "only"},
    "audit.field.rows": {"ja": "行数", "en": "rows"},
    "audit.field.key": {"ja": "項目", "en": "setting"},
    "audit.field.value": {"ja": "値", "en": "value"},
    "audit.field.role": {"ja": "役割", "en": "role"},
    "audit.field.user": {"ja": "ユーザー", "en": "user"},
    "audit.field.reason": {"ja": "理由", "en": "reason"},
    "audit.field.added": {"ja": "追加", "en": "added"},
    "audit.field.already": {"ja": "登録済み", "en": "already listed"},
    "audit.field.phone": {"ja": "電話番号", "en": "number"},
    "audit.field.number": {"ja": "電話番号", "en": "number"},
    "audit.field.file": {"ja": "ファイル", "en": "file"},
    "audit.field.old": {"ja": "旧", "en": "old"},
    "audit.field.new": {"ja": "新", "en": "new"},
    "audit.field.campaigns": {"ja": "送信数", "en": "sends"},
    "audit.field.oidc": {"ja": "組織アカウント", "en": "OIDC"},
    "audit.field.test": {"ja": "テスト送信", "en": "test"},
    "audit.field.template": {"ja": "テンプレート", "en": "template"},
    "audit.yes": {"ja": "はい", "en": "yes"},
    "audit.no": {"ja": "いいえ", "en": "no"},
    "config.setting.provider": {"ja": "送信プロバイダ", "en": "provider"},
    "config.setting.quiet_hours": {"ja": "送信停止時間帯", "en": "quiet hours"},
    "config.setting.short_url_base": {"ja": "短縮URL", "en": "short URL base"},
}


def t(key: str, lang: str = DEFAULT_LANGUAGE, **values: object) -> str:
    """The text for ``key`` in ``lang`` (falling back to Japanese), formatted with values."""
    entry = _CATALOGUE[key]
    text = entry.get(lang) or entry[DEFAULT_LANGUAGE]
    return text.format(**values) if values else text


def missing_translations() -> list[str]:
    """Keys lacking a text in one of :data:`LANGUAGES` (a test keeps this empty)."""
    return [key for key, entry in _CATALOGUE.items() if any(not entry.get(x) for x in LANGUAGES)]


class _Params(dict):
    """Format values that leave out what a text names but an error lacks."""

    def __missing__(self, key: str) -> str:
        return ""


def _format(text: str, params: dict[str, object]) -> str:
    try:
        return text.format_map(_Params(params))
    except (ValueError, TypeError):  # a value of another type than the text expects
        return text.format_map(_Params({k: str(v) for k, v in params.items()}))


def error_text(exc: BaseException, lang: str = DEFAULT_LANGUAGE) -> str:
    """An error as its user reads it, in ``lang``: English is the error's own message; other
    languages come from :mod:`sms_core.error_texts` by its stable code, never with an
    internal id (a roster error says which row and column first)."""
    entry: dict[str, str] | None  # the message's languages, None when it has none
    if not isinstance(exc, SmsError):
        entry = GENERIC["unexpected"]
        return entry.get(lang) or ("An unexpected error occurred; tell an administrator.")
    entry = ERRORS.get(exc.key)
    if lang == "en":
        return _format(entry["en"], exc.params) if entry and "en" in entry else str(exc)
    if entry is None or lang not in entry:
        for cls in type(exc).__mro__:
            code = getattr(cls, "key", None)
            if isinstance(code, str) and code in GENERIC and lang in GENERIC[code]:
                entry = GENERIC[code]
                break
    if entry is None or lang not in entry:
        return str(exc)
    text = _format(entry[lang], exc.params)
    others = exc.params.get("others")
    if isinstance(others, int) and others > 0 and lang in OTHERS:
        text += _format(OTHERS[lang], exc.params)
    if isinstance(exc, RosterError):
        letter = _COLUMN_LETTER.fullmatch(exc.column or "")
        params: dict[str, object] = {
            "row": exc.row,
            "column": exc.column,
            "letter": letter and letter.group(1),
        }
        column_kind = "letter" if letter else "column"
        if exc.row is not None and exc.column is not None:
            where = "row_letter" if letter else "row_column"
            text = _format(WHERE[where][lang], params) + text
        elif exc.row is not None:
            text = _format(WHERE["row"][lang], params) + text
        elif exc.column is not None:
            text = _format(WHERE[column_kind][lang], params) + text
    return text


# How a roster error names a column that has no header: by its spreadsheet letter.
_COLUMN_LETTER = re.compile(r"column ([A-Z]+)")


def column_headers(lang: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    """Export column ids mapped to their headers in ``lang`` (Excel downloads, issue 16)."""
    return {key[len("column.") :]: t(key, lang) for key in _CATALOGUE if key.startswith("column.")}


# --- Times, failure reasons and audit events as people read them (issue 15) ---

_JST = timezone(timedelta(hours=9))
DISPLAY_TIME = "%Y/%m/%d %H:%M"


def format_yen(amount: object) -> str:
    """Yen as people write it: ``1,234`` for whole yen, ``22.5`` or ``7.25`` only when a
    fractional unit price leaves sen (never ``0.00``)."""
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    text = f"{value:,.2f}"
    return text[:-3] if text.endswith(".00") else text.rstrip("0")


def display_time(instant: object) -> str:
    """An instant as Japan time, ``2026/12/01 10:00``: the one format of every page and
    export (Excel reads it as a date). Naive values are UTC (SQLite); missing ones give
    an empty string, never "None" or "NaT"."""
    if instant is None or not isinstance(instant, datetime) or instant != instant:
        return ""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(_JST).strftime(DISPLAY_TIME)


# Providers' codes (sandbox, Twilio's numeric codes) and words in their texts (the demo,
# Karaden's sent_result words), each to one reason of the catalogue. Codes win over texts;
# texts are matched lower-cased, first match wins.
_FAILURE_CODES = {
    "unreachable": "unknown_number",
    "invalid_to": "invalid_number",
    "invalid_number": "invalid_number",
    "unknown_number": "unknown_number",
    "empty_body": "body",
    "body_too_long": "body",
    "busy": "busy",
    "blocked": "rejected",
    "config": "config",
    "30003": "out_of_area",
    "30005": "unknown_number",
    "30006": "landline",
    "30004": "rejected",
    "30007": "rejected",
    "21610": "rejected",
    "30008": "carrier_error",
    "21211": "invalid_number",
    "21614": "landline",
}
_FAILURE_WORDS = (
    ("absent subscriber", "out_of_area"),
    ("out of service", "out_of_area"),
    ("圏外", "out_of_area"),
    ("out of coverage", "out_of_area"),
    ("switched off", "out_of_area"),
    ("handset off", "out_of_area"),
    ("unreachable", "unknown_number"),
    ("unknown destination", "unknown_number"),
    ("unknown number", "unknown_number"),
    ("does not exist", "unknown_number"),
    ("rejected", "rejected"),
    ("blocked", "rejected"),
    ("unsubscribed", "rejected"),
    ("landline", "landline"),
    ("not a mobile", "landline"),
    ("invalid", "invalid_number"),
    ("no delivery result", "no_result"),
    ("delivery result unknown", "result_unknown"),
    ("cancel", "cancelled"),
    ("could not send", "send_error"),
    ("carrier reported an error", "carrier_error"),
    ("body", "body"),
)


def failure_reason_key(code: object, message: object) -> str | None:
    """The catalogue reason (``failure.<key>``'s key) of a provider's code and text; None
    when the message carries neither."""
    code = None if code is None or code != code else str(code).strip()
    text = None if message is None or message != message else str(message).strip().lower()
    if not code and not text:
        return None
    if code and code in _FAILURE_CODES:
        return _FAILURE_CODES[code]
    for word, key in _FAILURE_WORDS:
        if text and word in text:
            return key
    return "other"


def failure_reason(code: object, message: object, lang: str = DEFAULT_LANGUAGE) -> str:
    """A failed message's reason as a word in ``lang`` (宛先不明, 圏外・電源オフ, 受信拒否…);
    empty when there is none."""
    key = failure_reason_key(code, message)
    return "" if key is None else t(f"failure.{key}", lang)


def audit_action(action: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """An audit event's name as words (its code when the catalogue has none yet)."""
    key = f"audit.action.{action}"
    return t(key, lang) if key in _CATALOGUE else action


def _audit_value(field: str, value: object, lang: str) -> str:
    if isinstance(value, dict):
        return "（" + audit_detail(value, lang) + "）"
    if isinstance(value, bool):
        return t("audit.yes" if value else "audit.no", lang)
    if isinstance(value, str):
        try:
            return display_time(datetime.fromisoformat(value)) if "T" in value else value
        except ValueError:
            return value
    return f"{value:,}" if isinstance(value, int) else str(value)


def audit_detail(detail: object, lang: str = DEFAULT_LANGUAGE) -> str:
    """An audit event's details (its JSON) as ``項目: 値`` pairs in ``lang``; fields
    without a value are left out, times are Japan time."""
    if isinstance(detail, str):
        try:
            detail = json.loads(detail) if detail else {}
        except ValueError:
            return str(detail)
    if not isinstance(detail, dict):
        return "" if detail is None else str(detail)
    parts = []
    for field, value in detail.items():
        if value is None or value == "":
            continue
        label = f"audit.field.{field}"
        name = t(label, lang) if label in _CATALOGUE else field
        if field == "key" and f"config.setting.{value}" in _CATALOGUE:
            value = t(f"config.setting.{value}", lang)
        elif field == "sender_mode" and f"contract.sender.{value}" in _CATALOGUE:
            value = t(f"contract.sender.{value}", lang)
        elif field == "role" and f"role.{value}" in _CATALOGUE:
            value = t(f"role.{value}", lang)
        elif field == "only" and isinstance(value, str):
            value = audit_action(value, lang)
        elif field == "source" and f"optout.source.{value}" in _CATALOGUE:
            value = t(f"optout.source.{value}", lang)
        parts.append(f"{name}: {_audit_value(field, value, lang)}")
    return "、".join(parts) if lang == "ja" else ", ".join(parts)
