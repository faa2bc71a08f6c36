"""Facts checked against the installed chinesecalendar (State Council notices for 2025/2026)."""

import logging
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from marketplace import workdays
from marketplace.workdays import (
    add_working_days,
    deadline_at,
    is_working_day,
    working_days_between,
)

SH = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 9, 28), True),  # Sunday, swapped working day (调休) before National Day
        (date(2025, 9, 30), True),
        (date(2025, 10, 1), False),  # National Day + Mid-Autumn: 10-01 .. 10-08
        (date(2025, 10, 6), False),
        (date(2025, 10, 8), False),
        (date(2025, 10, 9), True),
        (date(2025, 10, 11), True),  # Saturday, swapped working day
        (date(2025, 10, 12), False),  # an ordinary Sunday
        (date(2026, 2, 14), True),  # Saturday, swapped working day before Spring Festival
        (date(2026, 2, 15), False),  # Spring Festival: 02-15 .. 02-23
        (date(2026, 2, 23), False),  # a Monday inside the holiday
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),  # Saturday, swapped working day after Spring Festival
        (date(2026, 1, 4), True),  # Sunday, swapped for New Year's Day
    ],
)
def test_is_working_day_knows_swapped_days(day, working):
    assert is_working_day(day) is working


def test_add_working_days_across_national_day_2025():
    # Tue 09-30 + 1 skips the whole holiday to Thu 10-09; +3 lands on Saturday 10-11 (调休).
    assert add_working_days(date(2025, 9, 30), 1) == date(2025, 10, 9)
    assert add_working_days(date(2025, 9, 30), 3) == date(2025, 10, 11)
    # Friday 09-26 + 1 is Sunday 09-28, a working day.
    assert add_working_days(date(2025, 9, 26), 1) == date(2025, 9, 28)
    assert add_working_days(date(2025, 10, 9), -1) == date(2025, 9, 30)
    assert add_working_days(date(2025, 10, 3), 0) == date(2025, 10, 3)


def test_add_working_days_across_spring_festival_2026():
    # Fri 02-13 + 1 is Sat 02-14 (调休); + 2 jumps the nine-day holiday to Tue 02-24.
    assert add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)
    # A 5-working-day limit starting on the first day of the holiday.
    assert add_working_days(date(2026, 2, 15), 5) == date(2026, 2, 28)


def test_working_days_between():
    assert working_days_between(date(2025, 9, 30), date(2025, 10, 11)) == 3
    assert working_days_between(date(2025, 10, 11), date(2025, 9, 30)) == -3
    assert working_days_between(date(2026, 2, 13), date(2026, 2, 24)) == 2
    assert working_days_between(date(2025, 10, 1), date(2025, 10, 1)) == 0
    start = date(2026, 2, 10)
    for n in range(1, 20):
        assert working_days_between(start, add_working_days(start, n)) == n


def test_deadline_at_is_aware_in_shanghai():
    deadline = deadline_at(datetime(2025, 9, 30, 16, 0, tzinfo=SH), 3)
    assert deadline == datetime(2025, 10, 11, 17, 30, tzinfo=SH)
    assert deadline.utcoffset().total_seconds() == 8 * 3600
    # An aware UTC time late on 09-30 is already 10-01 in Shanghai.
    utc_late = datetime(2025, 9, 30, 17, 0, tzinfo=ZoneInfo("UTC"))
    assert deadline_at(utc_late, 1, end_of_day=time(23, 59)) == datetime(
        2025, 10, 9, 23, 59, tzinfo=SH
    )


def test_years_without_data_fall_back_to_weekdays(caplog):
    workdays._warned_years.discard(2040)
    with caplog.at_level(logging.WARNING, logger="marketplace.workdays"):
        assert is_working_day(date(2040, 1, 2))  # Monday
        assert not is_working_day(date(2040, 1, 7))  # Saturday
        assert add_working_days(date(2040, 1, 6), 1) == date(2040, 1, 9)
    warnings = [r for r in caplog.records if "2040" in r.getMessage()]
    assert len(warnings) == 1  # logged once per year, not per call
