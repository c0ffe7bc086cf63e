"""Free text at the edge: "not only white space", said the same way to the service and to a
client reading the OpenAPI document.

Regex engines disagree on ``\\s``: Python's (``str.isspace``, ``str.strip()``) includes the
separators U+001C–U+001F, the Unicode ``White_Space`` property (Rust's ``regex``, JSON Schema
validators built on it) does not. So white space here is an explicit set, Unicode's
``White_Space``, and :data:`NOT_BLANK_PATTERN` is an explicit class that every engine reads alike.

A person's name as others see it (:data:`DisplayName`) is such text too: 1–80 characters,
used trimmed.

Free text never holds U+0000 (NUL): no person types it, and the store refuses it (PostgreSQL
cannot hold it in a ``jsonb`` string, so FerretDB fails the write): it is refused at the edge
with a clear error instead of a 500.
"""

from typing import Annotated

from pydantic import AfterValidator, Field

#: Unicode's White_Space property (UCD PropList.txt), every character of it.
WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)

#: Matches a string that holds at least one character not in :data:`WHITE_SPACE` and no
#: U+0000 (JSON Schema's ``pattern``; anchored, since JSON Schema searches).
NOT_BLANK_PATTERN = (
    r"^[^\u0000]*[^\u0000\t\n\u000b\u000c\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    r"[^\u0000]*$"
)
#: Matches a string without U+0000 (JSON Schema's ``pattern``).
NO_NUL_PATTERN = r"^[^\u0000]*$"


def no_nul(value: str) -> str:
    """``value`` unchanged; ``ValueError`` when it holds U+0000 (NUL)."""
    if "\x00" in value:
        raise ValueError("must not contain the character U+0000 (NUL)")
    return value


def not_blank(value: str) -> str:
    """``value`` unchanged; ``ValueError`` when it holds only :data:`WHITE_SPACE`, or U+0000."""
    if not no_nul(value).strip(WHITE_SPACE):
        raise ValueError("must not be only white space")
    return value


def trimmed(value: str) -> str:
    """``value`` without surrounding :data:`WHITE_SPACE`; ``ValueError`` when nothing is left."""
    return not_blank(value).strip(WHITE_SPACE)


#: A person's name as shown to others: 1–80 characters, not only white space, no U+0000;
#: the value is the name trimmed of :data:`WHITE_SPACE`.
DisplayName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=80,
        description="1–80 characters, not only white space; used trimmed",
        json_schema_extra={"pattern": NOT_BLANK_PATTERN},
    ),
    AfterValidator(trimmed),
]
