"""Input rules of accounts: email normalisation, display names, passwords.

Passwords follow NIST SP 800-63B (§3.1.1.2 of revision 4): a length of 8 to 1024 characters,
**no composition rules** (no required digits, symbols or cases), and a new password is refused
when it is on a list of commonly used passwords, is one character repeated, or is the account's
own email, email user name or display name. The list is zxcvbn's (PyPI ``zxcvbn``): the 30,000
most common passwords of real leaks, compared case-insensitively.
"""

from functools import cache

import email_validator
from email_validator import EmailNotValidError, validate_email
from pydantic_core import PydanticCustomError
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from parley_security import WHITE_SPACE, no_nul

from parley_auth.domain.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

# A self-hosted platform's users may live on internal or special-use domains (corp.local,
# team.test, …): accept every syntactically valid address, as the OpenAPI document's `email`
# format says. email-validator refuses RFC 6761 names even with globally_deliverable=False
# unless they are removed from this list (its documented switch); only auth uses it.
email_validator.SPECIAL_USE_DOMAIN_NAMES[:] = []

#: Display names are 1–80 characters after trimming surrounding white space.
MAX_DISPLAY_NAME_LENGTH = 80


def normalise_email(raw: str) -> str:
    """The canonical form of an email address: validated syntax (RFC 5321/5322 via
    email-validator, no DNS lookup), trimmed, Unicode-normalised, then lower-cased entirely.

    Raises ``ValueError`` for an invalid address.
    """
    try:
        result = validate_email(raw.strip(), check_deliverability=False, globally_deliverable=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    return result.normalized.lower()


def check_display_name(raw: str) -> str:
    """The trimmed display name (parley_security.WHITE_SPACE); ``ValueError`` unless 1–80
    characters, or when it holds U+0000."""
    name = no_nul(raw).strip(WHITE_SPACE)
    if not 1 <= len(name) <= MAX_DISPLAY_NAME_LENGTH:
        raise ValueError(f"display name must be 1 to {MAX_DISPLAY_NAME_LENGTH} characters")
    return name


#: The ``type`` of each password refusal in a 422 answer's ``detail`` entry, and its words.
PASSWORD_ERRORS = {
    "password_too_short": f"The password needs at least {MIN_PASSWORD_LENGTH} characters.",
    "password_too_long": f"The password may have at most {MAX_PASSWORD_LENGTH} characters.",
    "password_too_common": (
        "This password is on a list of commonly used passwords, so it is easy to guess. "
        "Choose another: a few unrelated words make a strong one."
    ),
    "password_repetitive": "The password is one character repeated. Choose another.",
    "password_matches_account": "The password must not be your email address or display name.",
}


def password_error(kind: str) -> PydanticCustomError:
    """The validation error of ``kind`` (a key of :data:`PASSWORD_ERRORS`)."""
    return PydanticCustomError(kind, PASSWORD_ERRORS[kind])


@cache
def common_passwords() -> frozenset[str]:
    """zxcvbn's list of common passwords (lower case), loaded once."""
    return frozenset(FREQUENCY_LISTS["passwords"])


def check_new_password(password: str) -> str:
    """``password`` unchanged, or a :class:`PydanticCustomError` (a ``ValueError``) whose
    ``type`` is a key of :data:`PASSWORD_ERRORS`: outside 8–1024 characters, on the list of
    common passwords, or one character repeated."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise password_error("password_too_short")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise password_error("password_too_long")
    if len(set(password)) == 1:
        raise password_error("password_repetitive")
    if password.casefold() in common_passwords():
        raise password_error("password_too_common")
    return password


def check_password_not_account(password: str, email: str, display_name: str) -> None:
    """Raise ``password_matches_account`` when ``password`` is (case-insensitively) the email,
    the part of the email before ``@``, or the display name."""
    words = {email.casefold(), email.split("@", 1)[0].casefold(), display_name.strip().casefold()}
    if password.strip().casefold() in words:
        raise password_error("password_matches_account")
