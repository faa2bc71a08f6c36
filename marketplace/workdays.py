"""Working-day arithmetic on the Chinese official calendar, with its swapped working days
(调休: a weekend day made a working day to bridge a holiday), from the ``chinesecalendar``
package (``import chinese_calendar``), which follows the State Council's yearly notice.

The package covers the years it has notices for (it raises NotImplementedError otherwise; at
1.11.0: 2004–2026). For years outside that range these functions fall back to Monday–Friday
and log a warning: the State Council publishes each year's holidays only late in the previous
year, so deadlines that far ahead are estimates until the package is updated.

Deadline convention ("n working days"): the day of the triggering event does not count; the
deadline is the n-th working day after it, at the end of that working day.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

logger = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
END_OF_WORKING_DAY = time(17, 30)
_warned_years: set[int] = set()


def _as_date(value: date | datetime) -> date:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(SHANGHAI)
        return value.date()
    return value


def is_working_day(day: date | datetime) -> bool:
    day = _as_date(day)
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            logger.warning(
                "workdays: chinesecalendar has no data for %s; assuming Monday-Friday",
                day.year,
            )
        return day.weekday() < 5


def add_working_days(start: date | datetime, n: int) -> date:
    """The n-th working day after ``start`` (n ≥ 1), or before it for negative n; n = 0 gives
    ``start`` itself. A datetime is taken in Asia/Shanghai."""
    day = _as_date(start)
    step = 1 if n >= 0 else -1
    remaining = abs(n)
    while remaining:
        day += timedelta(days=step)
        if is_working_day(day):
            remaining -= 1
    return day


def working_days_between(a: date | datetime, b: date | datetime) -> int:
    """Working days in the half-open interval (a, b]: the number n with
    ``add_working_days(a, n) == b`` when b is a working day. Negative if b is before a."""
    start, end = _as_date(a), _as_date(b)
    sign = 1
    if end < start:
        start, end, sign = end, start, -1
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        if is_working_day(day):
            count += 1
    return sign * count


def deadline_at(
    start_dt: date | datetime, n: int, end_of_day: time = END_OF_WORKING_DAY
) -> datetime:
    """The aware Asia/Shanghai datetime at which an "n working days" time limit expires:
    ``end_of_day`` on the n-th working day after ``start_dt``."""
    return datetime.combine(add_working_days(start_dt, n), end_of_day, tzinfo=SHANGHAI)
