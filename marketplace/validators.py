"""Validators for Chinese identifiers.

统一社会信用代码 (USCC, GB 32100-2015) is 18 characters:

    position 1      registration authority (登记管理部门码), e.g. 1 机构编制, 5 民政, 9 市场监管
    position 2      organisation category (机构类别码), e.g. 91 = enterprise
    positions 3-8   administrative division code (登记管理机关行政区划码, GB/T 2260)
    positions 9-17  organisation code (主体标识码), itself checked per GB 11714-1997
    position 18     check character over positions 1-17

The alphabet leaves out I, O, S, V and Z so that they cannot be mistaken for 1, 0, 5, U and 2.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES = {c: i for i, c in enumerate(USCC_CHARSET)}
# GB 32100-2015 §5.2: weight of position i is 3^(i-1) mod 31.
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
# GB 11714-1997: weights of the eight body characters of the organisation code.
_ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]


def uscc_check_char(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters."""
    total = sum(_USCC_VALUES[c] * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def org_code_check_char(body8: str) -> str:
    """The GB 11714-1997 check character of an 8-character organisation code body.

    Letters count A=10 … Z=35 (their position in the full Latin alphabet, not in the USCC
    alphabet), so the value is ``int(c, 36)``."""
    total = sum(int(c, 36) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def _uscc_error(code: str) -> str | None:
    if len(code) != 18:
        return _("A unified social credit code has exactly 18 characters.")
    bad = sorted({c for c in code if c not in _USCC_VALUES})
    if bad:
        return _("A unified social credit code cannot contain: %(chars)s.") % {
            "chars": " ".join(bad)
        }
    if not code[2:8].isdigit():
        return _("Characters 3 to 8 of a unified social credit code are a 6-digit region code.")
    if org_code_check_char(code[8:16]) != code[16]:
        return _("The organisation code part (characters 9 to 17) has a wrong check digit.")
    if uscc_check_char(code[:17]) != code[17]:
        return _("The check character of this unified social credit code is wrong.")
    return None


def is_valid_uscc(code: str) -> bool:
    return isinstance(code, str) and _uscc_error(code) is None


def validate_uscc(value: str) -> None:
    """Django validator for a 统一社会信用代码. Upper-case input is expected; forms should
    normalise with ``.strip().upper()`` before validating."""
    error = _uscc_error(value or "")
    if error:
        raise ValidationError(error, code="invalid_uscc", params={"value": value})


def make_uscc(prefix: str) -> str:
    """Completes a USCC from its first 16 or 17 characters: the organisation code's GB 11714
    check digit (position 17) is computed — a 17th character passed in is replaced — and the
    GB 32100 check character appended. Used to mint valid codes for demo organisations."""
    prefix = prefix.upper()
    if len(prefix) not in (16, 17):
        raise ValueError("make_uscc expects the first 16 or 17 characters of a USCC")
    body = prefix[:16]
    bad = [c for c in body if c not in _USCC_VALUES]
    if bad:
        raise ValueError(f"characters not allowed in a USCC: {''.join(bad)}")
    first17 = body + org_code_check_char(body[8:16])
    code = first17 + uscc_check_char(first17)
    validate_uscc(code)
    return code
