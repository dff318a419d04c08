from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import SettingsError, load_settings


def test_defaults_are_sqlite_memory_broker_and_loopback() -> None:
    settings = load_settings({})
    assert settings.effective_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.effective_database_url.endswith("/data/haven.db")
    assert settings.broker_url == "memory://"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert "http://127.0.0.1:8000" in settings.effective_allowed_origins


def test_data_dir_is_created(tmp_path: Path) -> None:
    settings = load_settings({"HAVEN_DATA_DIR": str(tmp_path / "new" / "dir")})
    settings.ensure_data_dir()
    assert (tmp_path / "new" / "dir").is_dir()


@pytest.mark.parametrize("secret", [None, "change-me", "dev-insecure-key", "short"])
def test_production_refuses_missing_or_placeholder_secret(secret: str | None) -> None:
    env = {"HAVEN_ENV": "production"}
    if secret is not None:
        env["HAVEN_SECRET_KEY"] = secret
    with pytest.raises(SettingsError, match="SECRET_KEY") as info:
        load_settings(env)
    if secret in (None, "change-me", "dev-insecure-key"):
        assert "secrets.token_urlsafe" in str(info.value)


def test_production_accepts_a_real_secret() -> None:
    settings = load_settings({"HAVEN_ENV": "production", "HAVEN_SECRET_KEY": "x" * 48})
    assert not settings.development


def test_values_are_typed_and_lists_split() -> None:
    settings = load_settings(
        {
            "HAVEN_PORT": "9000",
            "HAVEN_RATE_LIMIT_WINDOW_S": "2.5",
            "HAVEN_ALLOWED_ORIGINS": "https://a.example, https://b.example/",
        }
    )
    assert settings.port == 9000
    assert settings.rate_limit_window_s == 2.5
    assert settings.effective_allowed_origins == {"https://a.example", "https://b.example"}


def test_bad_values_are_refused_with_the_variable_name() -> None:
    with pytest.raises(SettingsError, match="HAVEN_PORT"):
        load_settings({"HAVEN_PORT": "eighty"})
    with pytest.raises(SettingsError, match="HAVEN_ENV"):
        load_settings({"HAVEN_ENV": "staging"})
