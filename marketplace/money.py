"""Money helpers (DESIGN §4: ``Decimal`` yuan with two places, never floats)."""

from __future__ import annotations

from decimal import Decimal

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
# Integer amounts up to (but excluding) 10^16 yuan: 仟万亿 is the largest position.
_MAX_INTEGER_DIGITS = 16
_FEN = Decimal("0.01")


def yuan_in_words(amount: Decimal | int) -> str:
    """The amount in Chinese capital figures (人民币大写), as written on contracts, invoices
    and bank documents, without the "人民币" prefix: ``Decimal("12345.60")`` →
    ``"壹万贰仟叁佰肆拾伍元陆角整"``.

    The rules are those of the People's Bank of China for filling in payment instruments
    (《正确填写票据和结算凭证的基本规定》, annexed to 《支付结算办法》):

    - The figures are 零壹贰叁肆伍陆柒捌玖 with the units 拾佰仟万亿 and 元角分; a ten is
      always written with its digit (¥10.05 → 壹拾元零伍分, ¥110,000 → 壹拾壹万元整).
    - A run of zeros between two non-zero figures is written as one 零, wherever the run
      lies: inside a four-figure group (¥6,007.14 → 陆仟零柒元壹角肆分), across a 万 or 亿
      boundary (¥1,000,001 → 壹佰万零壹元整; ¥1,0000,0001 → 壹亿零壹元整; ¥107,000 →
      壹拾万零柒仟元整), or at the 元 figure before a non-zero 角 (¥1,680.32 →
      壹仟陆佰捌拾元零叁角贰分). Where the rules allow either form (a zero 万 or 元 figure
      followed by a non-zero 千 or 角 figure), this function always writes the 零: one
      convention, applied the same way everywhere. A zero 角 before a non-zero 分 always
      takes 零 (¥16,409.02 → 壹万陆仟肆佰零玖元零贰分), as the rules require.
    - Leading and trailing zeros are not written; an amount under one yuan has no 元
      (¥0.50 → 伍角整, ¥0.05 → 伍分).
    - 整 ends the amount whenever there is no 分: after 元 (required by the rules) and after
      角 (the rules allow leaving it out there; we write it, as most banks and contract forms
      do, so that nothing can be appended): ¥100,000.00 → 壹拾万元整, ¥0.50 → 伍角整. An
      amount with 分 has no 整 (¥325.04 → 叁佰贰拾伍元零肆分).
    - Zero is 零元整.

    Refused (``ValueError``): negative amounts, amounts not a whole number of fen (e.g.
    ``Decimal("1.005")``), NaN and infinities, and amounts of 10^16 yuan or more.
    Floats are refused (``TypeError``): money is never a float here.
    """
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
        raise TypeError(f"yuan_in_words takes a Decimal (or an int), not {type(amount).__name__}")
    value = Decimal(amount)
    if not value.is_finite():
        raise ValueError(f"not an amount: {amount}")
    if value < 0:
        raise ValueError(f"a negative amount has no capital figures: {amount}")
    fen_value = value * 100
    if fen_value != fen_value.to_integral_value():
        raise ValueError(f"the amount is more precise than a fen (0.01 yuan): {amount}")
    fen_total = int(fen_value)
    if fen_total == 0:
        return "零元整"
    yuan, rest = divmod(fen_total, 100)
    jiao, fen = divmod(rest, 10)
    integer_digits = [int(d) for d in str(yuan)] if yuan else []
    if len(integer_digits) > _MAX_INTEGER_DIGITS:
        raise ValueError(f"the amount is too large: {amount}")

    parts: list[str] = []
    started = False  # a non-zero figure has been written
    zero_pending = False  # zeros since the last non-zero figure

    def figure(digit: int, unit: str) -> None:
        nonlocal started, zero_pending
        if digit == 0:
            zero_pending = started
            return
        if zero_pending:
            parts.append("零")
        parts.append(_DIGITS[digit] + unit)
        started = True
        zero_pending = False

    count = len(integer_digits)
    for index, digit in enumerate(integer_digits):
        position = count - 1 - index  # 0 is the 元 figure
        figure(digit, _SMALL_UNITS[position % 4])
        if position == 8:
            # 亿 closes everything above it, always non-zero here (the leading figure is):
            # 1,0000,0000,0000 is 壹万亿, 1,0001,0000,0000 壹万零壹亿.
            parts.append("亿")
        elif position in (4, 12) and any(integer_digits[max(index - 3, 0) : index + 1]):
            # 万 closes its four-figure group unless the group is all zeros (¥1,0000,0001:
            # no 万).
            parts.append("万")
    if yuan:
        parts.append("元")
    figure(jiao, "角")
    figure(fen, "分")
    if fen == 0:
        parts.append("整")
    return "".join(parts)
