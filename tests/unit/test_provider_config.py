"""get_provider(): the provider and its settings from the environment or secrets.toml only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sms_core.errors import ConfigError
from sms_core.providers import get_provider
from sms_core.providers.karaden import KaradenProvider
from sms_core.providers.sandbox import SandboxProvider
from sms_core.providers.settings import Secret
from sms_core.providers.transport import Timeout
from sms_core.providers.twilio import TwilioProvider

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "kd-PLANTED-config-token-0042"
AUTH = "tw-PLANTED-config-auth-0042"
KARADEN_ENV = {
    "SMS_PROVIDER": "karaden",
    "SMS_KARADEN_TOKEN": TOKEN,
    "SMS_KARADEN_TENANT_ID": "tenant-42",
    "SMS_KARADEN_SERVICE_ID": "7",
}


@pytest.fixture
def no_secrets(tmp_path):
    return tmp_path / "absent.toml"


def test_the_default_is_the_sandbox(no_secrets, tmp_path):
    provider = get_provider(environ={}, secrets_path=no_secrets)
    assert isinstance(provider, SandboxProvider)
    env = {"SMS_SANDBOX_PATH": str(tmp_path / "o.db"), "SMS_SANDBOX_DELIVERY_DELAY": "0.5"}
    provider = get_provider(environ=env, secrets_path=no_secrets)
    assert (provider.path, provider.delivery_delay) == (tmp_path / "o.db", 0.5)


def test_karaden_from_the_environment(no_secrets):
    provider = get_provider(environ=KARADEN_ENV, secrets_path=no_secrets)
    assert isinstance(provider, KaradenProvider)
    assert provider._service_id == "7"
    assert provider._http.timeout == Timeout(5.0, 30.0)
    assert provider._http.base_url == "https://prg.karaden.jp/api"
    assert TOKEN not in repr(provider)


def test_the_process_environment_is_read_by_default(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .streamlit/secrets.toml here
    for key, value in KARADEN_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SMS_PROVIDER_READ_TIMEOUT", "12.5")
    provider = get_provider()
    assert isinstance(provider, KaradenProvider)
    assert provider._http.timeout == Timeout(5.0, 12.5)


def test_twilio_from_secrets_toml_with_the_environment_winning(tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        f"""
[providers.twilio]
account_sid = "AC123"
auth_token = "{AUTH}"
from_number = "+815012345678"
base_url = "http://127.0.0.1:9"
read_timeout = 7
""",
        encoding="utf-8",
    )
    env = {"SMS_PROVIDER": "twilio", "SMS_TWILIO_BASE_URL": "http://127.0.0.1:8"}
    provider = get_provider(environ=env, secrets_path=secrets)
    assert isinstance(provider, TwilioProvider)
    assert provider._http.base_url == "http://127.0.0.1:8"
    assert provider._http.timeout.read == 7.0
    assert AUTH not in repr(provider)


def test_streamlit_secrets_in_the_working_directory(monkeypatch, tmp_path):
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(
        f'[providers.karaden]\ntoken = "{TOKEN}"\ntenant_id = "t"\nservice_id = 3\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    provider = get_provider("karaden", environ={})
    assert provider._service_id == "3"


def test_missing_credentials_name_the_setting_not_the_value(no_secrets):
    env = {**KARADEN_ENV, "SMS_KARADEN_TOKEN": ""}
    with pytest.raises(ConfigError) as err:
        get_provider(environ=env, secrets_path=no_secrets)
    text = str(err.value)
    assert "'token'" in text and "SMS_KARADEN_TOKEN" in text and "secrets.toml" in text
    assert "tenant-42" not in text and "'tenant_id'" not in text


def test_every_missing_setting_is_named(no_secrets):
    with pytest.raises(ConfigError) as err:
        get_provider("twilio", environ={}, secrets_path=no_secrets)
    assert "SMS_TWILIO_ACCOUNT_SID" in str(err.value)
    assert "SMS_TWILIO_AUTH_TOKEN" in str(err.value)


def test_twilio_needs_a_sender(no_secrets):
    env = {"SMS_TWILIO_ACCOUNT_SID": "AC1", "SMS_TWILIO_AUTH_TOKEN": AUTH}
    with pytest.raises(ConfigError, match="needs a sender") as err:
        get_provider("twilio", environ=env, secrets_path=no_secrets)
    assert AUTH not in str(err.value)


def test_credentials_cannot_be_passed_in_code(no_secrets):
    with pytest.raises(ConfigError, match="is a credential") as err:
        get_provider(environ=KARADEN_ENV, secrets_path=no_secrets, token="from-the-database")
    assert "from-the-database" not in str(err.value)


def test_non_secret_overrides_are_allowed(no_secrets):
    provider = get_provider(
        environ=KARADEN_ENV, secrets_path=no_secrets, base_url="http://127.0.0.1:1/api"
    )
    assert provider._http.base_url == "http://127.0.0.1:1/api"


@pytest.mark.parametrize(
    ("name", "env", "says"),
    [
        ("smsglobal", {}, "unknown SMS provider 'smsglobal'"),
        (None, {"SMS_PROVIDER": "nope"}, "choose one of: sandbox, karaden, twilio"),
        ("karaden", {**KARADEN_ENV, "SMS_PROVIDER_READ_TIMEOUT": "soon"}, "'read_timeout'"),
        ("karaden", {**KARADEN_ENV, "SMS_PROVIDER_CONNECT_TIMEOUT": "0"}, "> 0"),
        ("sandbox", {"SMS_SANDBOX_DELIVERY_DELAY": "-1"}, "'delivery_delay'"),
    ],
)
def test_bad_configuration_is_a_clear_config_error(no_secrets, name, env, says):
    with pytest.raises(ConfigError, match=says):
        get_provider(name, environ=env, secrets_path=no_secrets)


def test_unknown_override_is_refused(no_secrets):
    with pytest.raises(ConfigError, match="unknown setting 'colour'"):
        get_provider("sandbox", environ={}, secrets_path=no_secrets, colour="red")


def test_malformed_secrets_file(tmp_path):
    bad = tmp_path / "secrets.toml"
    bad.write_text(f'[providers.karaden]\ntoken = "{TOKEN}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML") as err:
        get_provider("karaden", environ={}, secrets_path=bad)
    assert TOKEN not in str(err.value)


def test_secret_hides_its_value():
    secret = Secret(TOKEN)
    assert TOKEN not in f"{secret} {secret!r} {[secret]}"
    assert secret.reveal() == TOKEN


def test_providers_never_import_streamlit():
    code = (
        "import sys, sms_core.providers, sms_core.providers.factory, sms_core.providers.karaden,"
        " sms_core.providers.twilio, sms_core.providers.sandbox; "
        "assert 'streamlit' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
