"""Input rules: passwords, emails, display names, and the request models that apply them."""

import pytest
from pydantic import ValidationError

from parley_auth.api.schemas import LoginRequest, RegisterRequest
from parley_auth.domain.rules import check_display_name, check_new_password, normalise_email


@pytest.mark.parametrize("password", ["", "1234567", "seven77"])
def test_short_passwords_are_refused(password: str) -> None:
    with pytest.raises(ValueError, match="at least 8"):
        check_new_password(password)


def test_passwords_of_8_to_1024_characters_are_accepted() -> None:
    assert check_new_password("12345678") == "12345678"
    assert check_new_password("x" * 1024) == "x" * 1024
    with pytest.raises(ValueError, match="at most 1024"):
        check_new_password("x" * 1025)


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("Ada@Example.COM", "ada@example.com"),
        ("  grace.HOPPER@navy.mil ", "grace.hopper@navy.mil"),
    ],
)
def test_emails_are_normalised_to_lower_case(raw: str, normalised: str) -> None:
    assert normalise_email(raw) == normalised


@pytest.mark.parametrize("raw", ["", "no-at-sign", "a@", "@example.com", "a b@example.com", "a@@example.com"])
def test_invalid_emails_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        normalise_email(raw)


def test_display_names_are_trimmed_and_1_to_80_characters() -> None:
    assert check_display_name("  Ada  ") == "Ada"
    assert check_display_name("x" * 80) == "x" * 80
    for bad in ("", "   ", "x" * 81):
        with pytest.raises(ValueError):
            check_display_name(bad)


def test_register_request_applies_every_rule() -> None:
    body = RegisterRequest.model_validate({"email": "Ada@Example.com", "display_name": " Ada ", "password": "12345678"})
    assert (body.email, body.display_name, body.password) == ("ada@example.com", "Ada", "12345678")
    with pytest.raises(ValidationError) as caught:
        RegisterRequest.model_validate({"email": "nope", "display_name": "", "password": "short"})
    assert {error["loc"][0] for error in caught.value.errors()} == {"email", "display_name", "password"}
    with pytest.raises(ValidationError) as caught:
        RegisterRequest.model_validate({})
    assert {error["type"] for error in caught.value.errors()} == {"missing"}


def test_login_request_normalises_the_email() -> None:
    assert LoginRequest.model_validate({"email": "ADA@example.com", "password": "x"}).email == "ada@example.com"
    with pytest.raises(ValidationError):
        LoginRequest.model_validate({"email": "ada@example.com", "password": ""})
