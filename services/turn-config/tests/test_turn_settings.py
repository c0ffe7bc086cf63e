"""Settings refuse an unusable TURN secret."""

import pytest
from pydantic import ValidationError

from parley_turn_config.config import Settings

URLS = ["turn:127.0.0.1:3478?transport=udp"]


def test_missing_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARLEY_TURN_SECRET", raising=False)
    with pytest.raises(ValidationError, match="turn_secret"):
        Settings(environment="production", turn_urls=URLS)


@pytest.mark.parametrize("environment", ["production", "local"])
def test_empty_secret_is_refused(environment: str) -> None:
    with pytest.raises(ValidationError, match="PARLEY_TURN_SECRET must be set"):
        Settings(environment=environment, turn_secret="", turn_urls=URLS)


def test_short_secret_is_refused_outside_local() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(environment="production", turn_secret="short-secret", turn_urls=URLS)


def test_short_secret_is_accepted_in_local() -> None:
    settings = Settings(environment="local", turn_secret="short-secret", turn_urls=URLS)
    assert settings.turn_secret.get_secret_value() == "short-secret"


def test_urls_and_ttl_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARLEY_ENVIRONMENT", "production")
    monkeypatch.setenv("PARLEY_TURN_SECRET", "x" * 40)
    monkeypatch.setenv("PARLEY_TURN_URLS", '["turn:a:3478?transport=udp","turn:a:3478?transport=tcp"]')
    monkeypatch.setenv("PARLEY_STUN_URLS", '["stun:a:3478"]')
    monkeypatch.setenv("PARLEY_TURN_TTL_SECONDS", "120")
    settings = Settings()
    assert settings.turn_urls == ["turn:a:3478?transport=udp", "turn:a:3478?transport=tcp"]
    assert settings.stun_urls == ["stun:a:3478"]
    assert settings.turn_ttl_seconds == 120
    assert "x" * 40 not in repr(settings)


def test_turn_urls_are_required() -> None:
    with pytest.raises(ValidationError, match="turn_urls"):
        Settings(environment="production", turn_secret="x" * 40, turn_urls=[])
