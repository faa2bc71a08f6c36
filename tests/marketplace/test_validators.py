import pytest
from django.core.exceptions import ValidationError

from marketplace.validators import (
    is_valid_uscc,
    make_uscc,
    org_code_check_char,
    uscc_check_char,
    validate_uscc,
)

# A widely published sample USCC (its organisation code part is M000100Y4).
KNOWN_VALID = "91350100M000100Y43"


def test_known_code_is_valid():
    validate_uscc(KNOWN_VALID)
    assert uscc_check_char(KNOWN_VALID[:17]) == "3"
    assert org_code_check_char("M000100Y") == "4"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("91350100M000100Y4", "exactly 18"),
        ("91350100M000100Y44", "check character"),
        ("91350100M000100Y53", "organisation code"),
        ("91350100I000100Y43", "cannot contain: I"),
        ("9135010OM000100Y43", "cannot contain: O"),
        ("91ABCDEFM000100Y43", "6-digit region"),
        ("", "exactly 18"),
    ],
)
def test_invalid_codes_say_why(code, message):
    with pytest.raises(ValidationError) as info:
        validate_uscc(code)
    assert message in info.value.messages[0]
    assert not is_valid_uscc(code)


def test_org_code_check_x_and_zero():
    # Bodies chosen so that 11 - sum%11 is 10 ("X") and 11 ("0").
    bodies = {org_code_check_char(f"{n:08d}"): n for n in range(200)}
    assert "X" in bodies and "0" in bodies


@pytest.mark.parametrize("prefix", ["91530100MA6DEM01", "12530000015000001", "Y1530102ABCDEFGH"])
def test_make_uscc_round_trips(prefix):
    code = make_uscc(prefix)
    assert len(code) == 18
    assert code.startswith(prefix[:16])
    assert is_valid_uscc(code)
    # Changing any single character breaks it (the check character catches single errors).
    for i in range(18):
        replacement = "1" if code[i] != "1" else "2"
        assert not is_valid_uscc(code[:i] + replacement + code[i + 1 :])


def test_make_uscc_rejects_bad_prefix():
    with pytest.raises(ValueError):
        make_uscc("9153")
    with pytest.raises(ValueError):
        make_uscc("91530100MA6DEMO1")  # letter O


def test_messages_are_translated_to_chinese():
    from django.utils import translation

    with pytest.raises(ValidationError) as info:
        validate_uscc("123")
    with translation.override("zh-hans"):  # messages are lazy: rendered in the active language
        assert info.value.messages == ["统一社会信用代码应为 18 位。"]
