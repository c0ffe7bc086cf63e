"""Request and response bodies of ``/api/auth`` (docs/http-api.md, section auth)."""

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from parley_auth.domain.models import User
from parley_auth.domain.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from parley_auth.domain.rules import (
    MAX_DISPLAY_NAME_LENGTH,
    check_display_name,
    check_new_password,
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

NewPassword = Annotated[
    str,
    Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH, description="8–1024 characters"),
    AfterValidator(check_new_password),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)


class RegisterRequest(_Body):
    """``{email, display_name (1–80), password (≥ 8)}``; the email is stored in lower case."""

    email: Email
    display_name: DisplayName
    password: NewPassword


class LoginRequest(_Body):
    email: Email
    password: Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)]


class RefreshRequest(_Body):
    refresh_token: Annotated[str, Field(min_length=1, max_length=512)]


class UserOut(BaseModel):
    """``{user_id, email, display_name}``."""

    user_id: str
    email: str
    display_name: str

    @classmethod
    def of(cls, user: User) -> "UserOut":
        return cls(user_id=user.user_id, email=user.email, display_name=user.display_name)


class TokenPair(BaseModel):
    """``{access_token, token_type: "Bearer", expires_in (seconds), refresh_token, user}``."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    refresh_token: str
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
