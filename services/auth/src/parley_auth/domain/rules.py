"""Input rules of accounts: email normalisation, display names, passwords."""

import email_validator
from email_validator import EmailNotValidError, validate_email
from parley_security import WHITE_SPACE

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
    """The trimmed display name (parley_security.WHITE_SPACE); ``ValueError`` unless 1–80 characters."""
    name = raw.strip(WHITE_SPACE)
    if not 1 <= len(name) <= MAX_DISPLAY_NAME_LENGTH:
        raise ValueError(f"display name must be 1 to {MAX_DISPLAY_NAME_LENGTH} characters")
    return name


def check_new_password(password: str) -> str:
    """``password`` unchanged; ``ValueError`` unless 8–1024 characters."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"password must be at most {MAX_PASSWORD_LENGTH} characters")
    return password
