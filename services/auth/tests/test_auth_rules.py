"""Input rules: passwords, emails, display names, and the request models that apply them."""

import pytest
from pydantic import ValidationError

from parley_auth.api.schemas import LoginRequest, RegisterRequest
from parley_auth.domain.rules import check_display_name, check_new_password, normalise_email


def _refusal(password: str) -> str:
    with pytest.raises(ValueError) as caught:
        check_new_password(password)
    return caught.value.type  # type: ignore[attr-defined]


@pytest.mark.parametrize("password", ["", "1234567", "seven77"])
def test_short_passwords_are_refused(password: str) -> None:
    assert _refusal(password) == "password_too_short"


def test_passwords_of_8_to_1024_characters_are_accepted() -> None:
    assert check_new_password("tulip quarry") == "tulip quarry"
    long = ("correct horse battery staple " * 40)[:1024]
    assert check_new_password(long) == long
    assert _refusal("xy" * 513) == "password_too_long"


@pytest.mark.parametrize(
    "password", ["12345678", "password", "Password", "PASSWORD1", "qwertyuiop", "iloveyou", "letmein1"]
)
def test_common_passwords_are_refused_whatever_their_case(password: str) -> None:
    # NIST SP 800-63B: a new password on a list of commonly used ones is refused.
    assert _refusal(password) == "password_too_common"


@pytest.mark.parametrize("password", [" " * 8, "a" * 12, "\u00e9" * 9])
def test_one_character_repeated_is_refused(password: str) -> None:
    assert _refusal(password) == "password_repetitive"


@pytest.mark.parametrize("password", ["tulip quarry", "no digits or symbols", "ALLCAPSBUTLONG", "Пароль-из-слов"])
def test_no_composition_rules(password: str) -> None:
    assert check_new_password(password) == password


def test_a_password_that_is_the_account_is_refused() -> None:
    for password in ("ada.lovelace@example.com", "Ada.Lovelace", "ADA LOVELACE"):
        with pytest.raises(ValidationError) as caught:
            RegisterRequest.model_validate(
                {"email": "ada.lovelace@example.com", "display_name": "Ada Lovelace", "password": password}
            )
        types = {error["type"] for error in caught.value.errors()}
        assert types == {"password_matches_account"}, (password, types)


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
    body = RegisterRequest.model_validate({"email": "Ada@Example.com", "display_name": " Ada ", "password": "tulip quarry"})
    assert (body.email, body.display_name, body.password) == ("ada@example.com", "Ada", "tulip quarry")
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


@pytest.mark.parametrize("takeover", ["true", 1, "yes", None])
def test_takeover_is_a_json_boolean(takeover: object) -> None:
    body = {"email": "ada@example.com", "password": "x"}
    assert LoginRequest.model_validate({**body, "takeover": True}).takeover is True
    with pytest.raises(ValidationError):
        LoginRequest.model_validate({**body, "takeover": takeover})


def test_a_field_a_body_does_not_know_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        LoginRequest.model_validate({"email": "ada@example.com", "password": "x", "takover": True})
    assert [error["type"] for error in caught.value.errors()] == ["extra_forbidden"]
