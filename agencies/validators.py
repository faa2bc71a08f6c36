"""Validators of the agencies app.

居民身份证号码 (GB 11643-1999): 18 characters — a 6-digit address code, an 8-digit date of birth
(YYYYMMDD), a 3-digit sequence code and a check character over the first 17 digits
(ISO 7064 MOD 11-2: weights 2^(17-i) mod 11, check = (12 - sum mod 11) mod 11, 10 written X)."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_ID_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]  # 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
_ID_CHECK = "10X98765432"


def resident_id_check_char(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def _resident_id_error(value: str) -> str | None:
    if len(value) != 18:
        return _("A resident ID number has exactly 18 characters.")
    if not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        return _("A resident ID number is 17 digits followed by a digit or X.")
    try:
        born = datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return _("Characters 7 to 14 of a resident ID number must be a real date of birth.")
    if born.year < 1900 or born > datetime.date.today():
        return _("Characters 7 to 14 of a resident ID number must be a real date of birth.")
    if resident_id_check_char(value[:17]) != value[17]:
        return _("The check character of this resident ID number is wrong.")
    return None


def normalise_resident_id(value: str) -> str:
    return (value or "").strip().upper()


def validate_resident_id(value: str) -> None:
    """Django validator for an 18-digit 居民身份证号码 (expects normalised input)."""
    error = _resident_id_error(value or "")
    if error:
        raise ValidationError(error, code="invalid_id_number")


def make_resident_id(first17: str) -> str:
    """Completes a resident ID number from its first 17 digits (for demo and test data)."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("make_resident_id expects 17 digits")
    return first17 + resident_id_check_char(first17)
