"""Request and response bodies of ``/api/auth`` (docs/http-api.md, section auth)."""

from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from parley_auth.domain.models import User
from parley_auth.domain.passwords import MAX_PASSWORD_LENGTH
from parley_auth.domain.rules import (
    MAX_DISPLAY_NAME_LENGTH,
    check_display_name,
    check_new_password,
    check_password_not_account,
    normalise_email,
)
from parley_observability import ErrorBody, ErrorResponse  # noqa: F401 - re-exported: the error model
from parley_security import NOT_BLANK_PATTERN

Email = Annotated[
    str,
    Field(
        max_length=320,
        description="An email address (RFC 5321/5322 syntax, no DNS lookup); compared in lower case",
        json_schema_extra={"format": "email"},
    ),
    AfterValidator(normalise_email),
]

#: 1–80 characters, not only white space (parley_security.WHITE_SPACE); stored trimmed.
DisplayName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_DISPLAY_NAME_LENGTH,
        description="1–80 characters, not only white space; stored trimmed",
        json_schema_extra={"pattern": NOT_BLANK_PATTERN},
    ),
    AfterValidator(check_display_name),
]

class _Body(BaseModel):
    """A request body: a field it does not know is refused (422 ``extra_forbidden``), as in
    every Parley service, so a misspelt optional field (``takover``) is not silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class RegisterRequest(_Body):
    """``{email, display_name (1–80), password (8–1024)}``; the email is stored in lower case.

    The password must not be a common one, one character repeated, or the account's email or
    display name (NIST SP 800-63B; no composition rules): see :mod:`parley_auth.domain.rules`.
    """

    email: Email
    display_name: DisplayName
    password: Annotated[
        str,
        Field(
            json_schema_extra={"minLength": 8, "maxLength": 1024},
            description=(
                "8 to 1024 characters, any characters, no composition rules; refused (422, the "
                "`detail` entry's `type`) when `password_too_short`, `password_too_long`, "
                "`password_too_common` (on a list of 30,000 common passwords), "
                "`password_repetitive` (one character repeated) or `password_matches_account` "
                "(the email, its user name or the display name)"
            ),
        ),
        AfterValidator(check_new_password),
    ]

    @model_validator(mode="after")
    def _password_is_not_the_account(self) -> Self:
        check_password_not_account(self.password, self.email, self.display_name)
        return self


class LoginRequest(_Body):
    """``{email, password, takeover?}``. ``takeover: true`` ends the user's other live session
    (``PARLEY_SESSION_POLICY=single``: "Use here") instead of answering 409 ``active_session``."""

    email: Email
    password: Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
    takeover: bool = Field(default=False, strict=True, description="JSON `true` or `false`")


class RefreshRequest(_Body):
    """``{refresh_token?}``: without it, the ``parley_refresh`` cookie is used (browsers)."""

    refresh_token: Annotated[str | None, Field(min_length=1, max_length=512)] = None


class UserOut(BaseModel):
    """``{user_id, email, display_name}``."""

    user_id: str
    email: str
    display_name: str

    @classmethod
    def of(cls, user: User) -> "UserOut":
        return cls(user_id=user.user_id, email=user.email, display_name=user.display_name)


class TokenPair(BaseModel):
    """``{access_token, token_type: "Bearer", expires_in (seconds), refresh_token?, user}``."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    refresh_token: str | None = Field(
        default=None,
        description=(
            "Present only for requests without an `Origin` header (non-browser clients). "
            "Browsers get it only in the HttpOnly `parley_refresh` cookie, out of scripts' reach."
        ),
    )
    user: UserOut


class JwkOut(BaseModel):
    """A public Ed25519 JWK (RFC 8037 §2): ``kty OKP``, ``crv Ed25519``, ``x``, ``kid``, ``alg``, ``use``."""

    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: str
    kid: str
    alg: Literal["EdDSA"]
    use: Literal["sig"]


class JwksOut(BaseModel):
    """A JWK Set (RFC 7517 §5)."""

    keys: list[JwkOut]
