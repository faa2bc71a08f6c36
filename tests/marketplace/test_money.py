"""marketplace.money.yuan_in_words: the capital figures (人民币大写) of contracts.

The cases marked PBoC are the examples of 《正确填写票据和结算凭证的基本规定》 (where the
rules allow two forms, the one this module chose: always 零 for a zero run, 整 after 角)."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from marketplace.money import yuan_in_words

CASES = [
    # The brief's cases.
    ("12345.60", "壹万贰仟叁佰肆拾伍元陆角整"),
    ("100000.00", "壹拾万元整"),
    ("1000001", "壹佰万零壹元整"),
    ("10.05", "壹拾元零伍分"),
    ("0.5", "伍角整"),
    ("100000001", "壹亿零壹元整"),  # 1,0000,0001: no 万 for the all-zero group
    # PBoC examples.
    ("1409.50", "壹仟肆佰零玖元伍角整"),
    ("6007.14", "陆仟零柒元壹角肆分"),
    ("1680.32", "壹仟陆佰捌拾元零叁角贰分"),
    ("107000.53", "壹拾万零柒仟元零伍角叁分"),
    ("16409.02", "壹万陆仟肆佰零玖元零贰分"),
    ("325.04", "叁佰贰拾伍元零肆分"),
    ("101.50", "壹佰零壹元伍角整"),
    # Zero and small amounts.
    ("0", "零元整"),
    ("0.00", "零元整"),
    ("-0.00", "零元整"),
    ("0.01", "壹分"),
    ("0.05", "伍分"),
    ("0.10", "壹角整"),
    ("0.25", "贰角伍分"),
    ("1", "壹元整"),
    ("1.01", "壹元零壹分"),
    ("1.10", "壹元壹角整"),
    # Tens are written with their digit.
    ("10", "壹拾元整"),
    ("11", "壹拾壹元整"),
    ("110000", "壹拾壹万元整"),
    ("100010", "壹拾万零壹拾元整"),
    # Zeros inside groups and across 万/亿.
    ("1010", "壹仟零壹拾元整"),
    ("1001", "壹仟零壹元整"),
    ("10000", "壹万元整"),
    ("20000", "贰万元整"),
    ("200100", "贰拾万零壹佰元整"),
    ("10010000", "壹仟零壹万元整"),
    ("10001000", "壹仟万零壹仟元整"),
    ("100000000", "壹亿元整"),
    ("100010000", "壹亿零壹万元整"),
    ("120000000", "壹亿贰仟万元整"),
    ("1000000000000", "壹万亿元整"),
    ("1000100000000", "壹万零壹亿元整"),
    ("8000000", "捌佰万元整"),
    ("9999.99", "玖仟玖佰玖拾玖元玖角玖分"),
    # Typical fees.
    ("8800.00", "捌仟捌佰元整"),
    ("35000.00", "叁万伍仟元整"),
    ("120500.50", "壹拾贰万零伍佰元零伍角整"),
    (
        "999999999999.99",  # the largest contract price (max_digits=14)
        "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分",
    ),
]


@pytest.mark.parametrize("amount, words", CASES)
def test_capital_figures(amount, words):
    assert yuan_in_words(Decimal(amount)) == words


def test_an_int_is_an_amount_of_yuan():
    assert yuan_in_words(1000001) == "壹佰万零壹元整"


@pytest.mark.parametrize("amount", ["-0.01", "-100", "1.005", "0.001", "NaN", "Infinity"])
def test_refused(amount):
    with pytest.raises(ValueError):
        yuan_in_words(Decimal(amount))


def test_too_large_is_refused():
    assert yuan_in_words(Decimal("9999999999999999.99")).startswith("玖仟玖佰玖拾玖万")
    with pytest.raises(ValueError, match="too large"):
        yuan_in_words(Decimal(10**16))


@pytest.mark.parametrize("amount", [1.5, "1.50", True, None])
def test_floats_and_other_types_are_refused(amount):
    with pytest.raises(TypeError):
        yuan_in_words(amount)


# --- every amount reads back as itself ---------------------------------------------------------

_VALUES = {d: i for i, d in enumerate("零壹贰叁肆伍陆柒捌玖")}
_SMALL = {"拾": 10, "佰": 100, "仟": 1000}


def _read(words: str) -> Decimal:
    """The amount written by ``words`` (a strict reader, independent of the writer)."""
    assert words.endswith(("整", "分")), words
    body = words.removesuffix("整")
    fen = 0
    yuan_text, _, fraction = body.rpartition("元") if "元" in body else ("", "", body)
    for char, unit in (("角", 10), ("分", 1)):
        if char in fraction:
            head, _, fraction = fraction.partition(char)
            head = head.removeprefix("零")
            assert len(head) == 1, words
            fen += _VALUES[head] * unit
    assert fraction == "", words

    def section(text: str) -> int:  # below 万
        total, digit = 0, None
        for char in text:
            if char in _VALUES:
                digit = _VALUES[char]
                if digit == 0:
                    digit = None
            else:
                assert digit is not None, words
                total += digit * _SMALL[char]
                digit = None
        return total + (digit or 0)

    def wan(text: str) -> int:  # below 亿
        high, _, low = text.rpartition("万") if "万" in text else ("", "", text)
        return section(high) * 10_000 + section(low)

    high, _, low = yuan_text.rpartition("亿") if "亿" in yuan_text else ("", "", yuan_text)
    yuan = wan(high) * 100_000_000 + wan(low)
    return Decimal(yuan * 100 + fen) / 100


def test_random_amounts_read_back_and_follow_the_zero_rules():
    rng = random.Random(20240611)
    for _ in range(5000):
        digits = rng.choice([1, 2, 3, 5, 8, 9, 12, 14])
        # Many zeros, so that zero runs of every length and place occur.
        fen = int("".join(rng.choice("0000123456789") for _ in range(digits)) or "0")
        amount = Decimal(fen) / 100
        words = yuan_in_words(amount)
        assert _read(words) == amount, (amount, words)
        assert "零零" not in words, (amount, words)
        assert words == "零元整" or not words.startswith("零"), (amount, words)
        assert words.endswith("整") == (fen % 10 == 0), (amount, words)
        assert "亿万" not in words, (amount, words)
        if fen >= 100:
            assert "元" in words
