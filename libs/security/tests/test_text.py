"""Free text at the edge: not only white space, never U+0000 (the store cannot hold it)."""

import re

import pytest

from parley_security import NO_NUL_PATTERN, NOT_BLANK_PATTERN, no_nul, not_blank, trimmed


@pytest.mark.parametrize("value", ["a", " x ", "\x1c", "line\nbreak", "\U0010ffff"])
def test_text_with_a_visible_character_and_no_nul_is_accepted(value: str) -> None:
    assert not_blank(value) == value
    assert re.search(NOT_BLANK_PATTERN, value)


@pytest.mark.parametrize("value", ["", " ", "\t\n\u3000", "a\x00", "\x00", " \x00 "])
def test_blank_text_or_text_with_nul_is_refused_alike_by_code_and_pattern(value: str) -> None:
    with pytest.raises(ValueError):
        not_blank(value)
    with pytest.raises(ValueError):
        trimmed(value)
    assert not re.search(NOT_BLANK_PATTERN, value)


def test_nul_anywhere_is_refused_and_anything_else_passes() -> None:
    assert no_nul("") == "" and re.search(NO_NUL_PATTERN, "")
    assert no_nul("any \x01 text") == "any \x01 text"
    with pytest.raises(ValueError, match="U\\+0000"):
        no_nul("before\x00after")
    assert not re.search(NO_NUL_PATTERN, "before\x00after")
