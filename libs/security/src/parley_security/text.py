"""Free text at the edge: "not only white space", said the same way to the service and to a
client reading the OpenAPI document.

Regex engines disagree on ``\\s``: Python's (``str.isspace``, ``str.strip()``) includes the
separators U+001C–U+001F, the Unicode ``White_Space`` property (Rust's ``regex``, JSON Schema
validators built on it) does not. So white space here is an explicit set, Unicode's
``White_Space``, and :data:`NOT_BLANK_PATTERN` is an explicit class that every engine reads alike.
"""

#: Unicode's White_Space property (UCD PropList.txt), every character of it.
WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)

#: Matches a string that holds at least one character not in :data:`WHITE_SPACE` (searched,
#: not anchored, as JSON Schema's ``pattern`` is).
NOT_BLANK_PATTERN = (
    r"[^\t\n\u000b\u000c\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)


def not_blank(value: str) -> str:
    """``value`` unchanged; ``ValueError`` when it holds only :data:`WHITE_SPACE`."""
    if not value.strip(WHITE_SPACE):
        raise ValueError("must not be only white space")
    return value


def trimmed(value: str) -> str:
    """``value`` without surrounding :data:`WHITE_SPACE`; ``ValueError`` when nothing is left."""
    return not_blank(value).strip(WHITE_SPACE)
