"""Settings: TOML plus OPSBOT_* overrides, clear errors, secrets that never print."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import wechat_account
from bot.settings import DEFAULT_CONFIG, Secret, SettingsError, load_settings

KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "opsbot.toml"
    path.write_text(text, encoding="utf-8")
    return path


ACCOUNT = f"""
[wechat.main]
app_id = "wx1234567890"
secret = "s3cr3t-value"
token = "tok123"
encoding_aes_key = "{KEY}"
"""


def test_embedded_default_is_the_sandbox_demo() -> None:
    settings = load_settings(environ={})
    assert settings.source == str(DEFAULT_CONFIG)
    assert settings.sandbox.enabled
    assert settings.database.url.get().startswith("sqlite+aiosqlite:///")
    assert settings.wechat["demo"].api_base == f"http://127.0.0.1:{settings.sandbox.port}"
    assert settings.wechat["demo"].qr_image_base == settings.wechat["demo"].api_base
    assert wechat_account("demo", settings.wechat["demo"]).qr_image_base.endswith(":8081")


def test_several_accounts_from_a_file(tmp_path: Path) -> None:
    text = ACCOUNT + ACCOUNT.replace("main", "second").replace('"safe"', '"safe"')
    text += '\n[wechat.third]\napp_id = "wx3"\nsecret = "x"\ntoken = "t"\nmode = "plaintext"\n'
    settings = load_settings(write(tmp_path, text), environ={})
    assert sorted(settings.wechat) == ["main", "second", "third"]
    assert settings.wechat["main"].mode == "safe"
    assert settings.wechat["third"].encoding_aes_key is None
    assert settings.wechat["second"].name == "second"


def test_environment_overrides_nested_values(tmp_path: Path) -> None:
    env = {
        "OPSBOT_DATABASE__URL": "postgresql+asyncpg://u@h/db",
        "OPSBOT_WECHAT__MAIN__SECRET": "from-env",
        "OPSBOT_SERVER__PORT": "9000",
        "OPSBOT_SANDBOX__ENABLED": "false",
        "OPSBOT_LOG_LEVEL": "DEBUG",
        "OPSBOT_TEST_DATABASE_URL": "ignored: not a setting",
    }
    settings = load_settings(write(tmp_path, ACCOUNT), environ=env)
    assert settings.database.url.get() == "postgresql+asyncpg://u@h/db"
    assert settings.wechat["main"].secret.get() == "from-env"
    assert settings.server.port == 9000
    assert settings.sandbox.enabled is False
    assert settings.log_level == "DEBUG"


def test_config_file_from_environment(tmp_path: Path) -> None:
    path = write(tmp_path, ACCOUNT)
    assert "main" in load_settings(environ={"OPSBOT_CONFIG": str(path)}).wechat


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        (ACCOUNT.replace(KEY, "short"), {}, "wechat.main.encoding_aes_key must be 43 characters"),
        (ACCOUNT.replace('app_id = "wx1234567890"\n', ""), {}, "wechat.main.app_id is required"),
        (ACCOUNT + 'mode = "secret"\n', {}, "wechat.main.mode must be one of"),
        (ACCOUNT + 'qr_image_base = "mp.weixin.qq.com"\n', {}, "qr_image_base must be an http"),
        (ACCOUNT, {"OPSBOT_SERVER__PORT": "eighty"}, "server.port must be an integer"),
        (ACCOUNT, {"OPSBOT_SERVER__PORT": "70000"}, "server.port must be between 1 and 65535"),
        (ACCOUNT, {"OPSBOT_SERVR__PORT": "80"}, "unknown setting servr"),
        (ACCOUNT + "[server]\nprot = 1\n", {}, "unknown setting server.prot"),
        (ACCOUNT, {"OPSBOT_SERVER__REPLY_DEADLINE_SECONDS": "6"}, "WeChat gives up"),
        (ACCOUNT, {"OPSBOT_DATABASE__URL": "mysql://x"}, "database.url must start with"),
        (ACCOUNT, {"OPSBOT_SANDBOX__ENABLED": "maybe"}, "sandbox.enabled must be true or false"),
        ("[wechat.main\n", {}, "is not valid TOML"),
        (
            ACCOUNT.replace('encoding_aes_key = "' + KEY + '"\n', ""),
            {},
            "encoding_aes_key is required in safe mode",
        ),
    ],
)
def test_bad_settings_name_the_setting(
    tmp_path: Path, text: str, env: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        load_settings(write(tmp_path, text), environ=env)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_secrets_never_print(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ACCOUNT), environ={})
    for text in (repr(settings), str(settings), repr(settings.wechat["main"])):
        assert "s3cr3t-value" not in text
        assert "tok123" not in text
        assert KEY not in text
    assert repr(Secret("x")) == "Secret('********')"
    with pytest.raises(SettingsError) as info:
        load_settings(write(tmp_path, ACCOUNT.replace(KEY, "bad-key-s3cr3t")), environ={})
    assert "bad-key-s3cr3t" not in str(info.value)
