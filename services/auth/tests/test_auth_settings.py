"""auth's settings refuse to start without a signing key outside local development."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from parley_auth.config import Settings
from parley_auth.domain.keys import generate_pem

BASE = {"mongo_database": "auth"}


def test_key_file_setting_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARLEY_JWT_PRIVATE_KEY_FILE", raising=False)
    with pytest.raises(ValidationError, match="jwt_private_key_file"):
        Settings(environment="production", **BASE)


def test_missing_key_file_is_refused_outside_local(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="generated only when PARLEY_ENVIRONMENT=local"):
        Settings(environment="production", jwt_private_key_file=tmp_path / "missing.pem", **BASE)


def test_missing_key_file_is_allowed_in_local(tmp_path: Path) -> None:
    settings = Settings(environment="local", jwt_private_key_file=tmp_path / "missing.pem", **BASE)
    assert settings.jwt_private_key_file == tmp_path / "missing.pem"


def test_defaults_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / "jwt.pem"
    key.write_bytes(generate_pem())
    for name in ("PARLEY_JWT_ISSUER", "PARLEY_JWT_AUDIENCE", "PARLEY_ACCESS_TOKEN_TTL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PARLEY_ENVIRONMENT", "production")
    monkeypatch.setenv("PARLEY_JWT_PRIVATE_KEY_FILE", str(key))
    monkeypatch.setenv("PARLEY_MONGO_DATABASE", "auth")
    monkeypatch.setenv("PARLEY_REFRESH_TOKEN_TTL_SECONDS", "3600")
    settings = Settings()
    assert (settings.jwt_issuer, settings.jwt_audience) == ("parley-auth", "parley")
    assert settings.access_token_ttl_seconds == 900
    assert settings.refresh_token_ttl_seconds == 3600
    assert settings.mongo_database == "auth"


def test_published_key_files_are_read_from_the_environment_and_must_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, next_key = tmp_path / "current.pem", tmp_path / "next.pem"
    key.write_bytes(generate_pem())
    monkeypatch.setenv("PARLEY_JWT_PUBLISHED_KEY_FILES", f'["{next_key}"]')
    with pytest.raises(ValidationError, match="PARLEY_JWT_PUBLISHED_KEY_FILES"):
        Settings(environment="production", jwt_private_key_file=key, **BASE)
    next_key.write_bytes(generate_pem())
    settings = Settings(environment="production", jwt_private_key_file=key, **BASE)
    assert settings.jwt_published_key_files == [next_key]
    monkeypatch.delenv("PARLEY_JWT_PUBLISHED_KEY_FILES")
    assert Settings(environment="production", jwt_private_key_file=key, **BASE).jwt_published_key_files == []
