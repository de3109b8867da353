"""When a schedule fires: a recurrence as the cloud SDK had it, or a cron expression.

Both answer two questions about instants (aware datetimes, compared in UTC):
``next_after(t)``, the first slot strictly after ``t``, and ``latest_at_or_before(t)``.

Day, Week and Month recurrences and cron expressions are computed in the schedule's local
wall time and then converted, so that daylight saving time is right: a wall time that does
not exist that day (02:30 when clocks jump from 02:00 to 03:00) fires once, shifted forward
by the jump, and a wall time that happens twice (01:30 when clocks go back) fires once, at
its first occurrence. Minute and Hour recurrences are fixed durations from the start time.
Cron expressions are evaluated by cronsim (Debian cron's rules for DST).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from cronsim import CronSim, CronSimError

FREQUENCIES = ("Minute", "Hour", "Day", "Week", "Month")
WEEK_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_INTERVAL = 1000
MAX_CRON_LENGTH = 120
# How far a search walks before it gives up (a cron expression like "0 0 30 2 *" never fires).
_MAX_STEPS = 5000


class TimetableError(ValueError):
    """A recurrence or cron expression that cannot be used; ``field`` names the culprit."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def zone_names() -> list[str]:
    """The IANA time zone names a schedule may use, sorted."""
    return sorted(_zone_names())


def get_zone(name: str) -> ZoneInfo:
    """The time zone called ``name`` (IANA, e.g. "Europe/Berlin"); TimetableError if unknown."""
    if not isinstance(name, str) or name not in _zone_names():
        raise TimetableError("TimeZone", f"unknown time zone {str(name)[:64]!r} (use an IANA name)")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimetableError("TimeZone", f"unknown time zone {name!r}") from None


def to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant of local wall time ``wall`` in ``zone``: a wall time skipped by a DST jump
    moves forward by the jump; one that happens twice is its first occurrence."""
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


@dataclass(frozen=True)
class Recurrence:
    """Every ``interval`` minutes/hours/days/weeks/months from ``start_time`` (aware).

    For Day and Week, ``hours`` × ``minutes`` are the times of day (default: the start
    time's); for Week, ``week_days`` the days (default: the start time's weekday). A Month
    recurrence fires on the start time's day of the month (the month's last day when it
    is shorter).
    """

    frequency: str
    interval: int
    start_time: datetime
    time_zone: str = "UTC"
    hours: tuple[int, ...] = ()
    minutes: tuple[int, ...] = ()
    week_days: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.frequency not in FREQUENCIES:
            raise TimetableError("Recurrence.Frequency", f"one of {', '.join(FREQUENCIES)}")
        if (
            not isinstance(self.interval, int)
            or isinstance(self.interval, bool)
            or not 1 <= self.interval <= MAX_INTERVAL
        ):
            raise TimetableError("Recurrence.Interval", f"a whole number from 1 to {MAX_INTERVAL}")
        zone = get_zone(self.time_zone)
        if self.start_time.tzinfo is None:
            raise TimetableError("StartTime", "needs a time zone")
        object.__setattr__(self, "_zone", zone)
        _check_numbers("Recurrence.Hours", self.hours, 23)
        _check_numbers("Recurrence.Minutes", self.minutes, 59)
        if (self.hours or self.minutes) and self.frequency not in ("Day", "Week"):
            field = "Recurrence.Hours" if self.hours else "Recurrence.Minutes"
            raise TimetableError(field, "only with frequency Day or Week")
        if self.week_days:
            if self.frequency != "Week":
                raise TimetableError("Recurrence.WeekDays", "only with frequency Week")
            unknown = [d for d in self.week_days if d not in WEEK_DAYS]
            if unknown:
                raise TimetableError(
                    "Recurrence.WeekDays", f"unknown day {str(unknown[0])[:20]!r} (Monday…Sunday)"
                )

    @property
    def zone(self) -> ZoneInfo:
        return self._zone  # type: ignore[attr-defined]

    # --- Fixed durations (Minute, Hour) -------------------------------------------------

    def _step(self) -> timedelta:
        unit = timedelta(minutes=1) if self.frequency == "Minute" else timedelta(hours=1)
        return unit * self.interval

    # --- Local periods (Day, Week, Month): period k holds the slots of one day, week or
    # month, in order; k is computed from a local date, then neighbours are searched. ----

    def _local_start(self) -> datetime:
        return self.start_time.astimezone(self.zone).replace(tzinfo=None)

    def _times_of_day(self) -> list[time]:
        start = self._local_start()
        hours = sorted(set(self.hours)) or [start.hour]
        minutes = sorted(set(self.minutes)) or [start.minute]
        return [time(h, m) for h in hours for m in minutes]

    def _period_of(self, day: date) -> int:
        start = self._local_start().date()
        if self.frequency == "Day":
            return (day - start).days // self.interval
        if self.frequency == "Week":
            monday = start - timedelta(days=start.weekday())
            return (day - monday).days // 7 // self.interval
        months = (day.year - start.year) * 12 + day.month - start.month
        return months // self.interval

    def _period_slots(self, k: int) -> list[datetime]:
        start = self._local_start()
        if self.frequency == "Day":
            days = [start.date() + timedelta(days=k * self.interval)]
        elif self.frequency == "Week":
            monday = start.date() - timedelta(days=start.weekday() - 7 * k * self.interval)
            wanted = self.week_days or (WEEK_DAYS[start.weekday()],)
            days = [monday + timedelta(days=WEEK_DAYS.index(d)) for d in sorted(set(wanted))]
        else:
            index = start.year * 12 + start.month - 1 + k * self.interval
            year, month = divmod(index, 12)
            last = calendar.monthrange(year, month + 1)[1]
            days = [date(year, month + 1, min(start.day, last))]
        if self.frequency == "Month":
            times = [start.time().replace(second=0, microsecond=0)]
        else:
            times = self._times_of_day()
        slots = {to_utc(datetime.combine(d, t), self.zone) for d in days for t in times}
        return sorted(s for s in slots if s >= self.start_time)

    def _first_period(self, t: datetime) -> int:
        return self._period_of(t.astimezone(self.zone).date())

    def next_after(self, t: datetime) -> datetime | None:
        """The first slot strictly after ``t``."""
        if self.frequency in ("Minute", "Hour"):
            if t < self.start_time:
                return self.start_time
            return self.start_time + self._step() * ((t - self.start_time) // self._step() + 1)
        k = max(0, self._first_period(t) - 1)
        for period in range(k, k + _MAX_STEPS):
            for slot in self._period_slots(period):
                if slot > t:
                    return slot
        return None

    def latest_at_or_before(self, t: datetime) -> datetime | None:
        """The last slot at or before ``t``, or None before the start time."""
        if t < self.start_time:
            return None
        if self.frequency in ("Minute", "Hour"):
            return self.start_time + self._step() * ((t - self.start_time) // self._step())
        k = self._first_period(t) + 1
        for period in range(k, max(-1, k - _MAX_STEPS), -1):
            for slot in reversed(self._period_slots(period)):
                if slot <= t:
                    return slot
        return None


def _check_numbers(field: str, values, highest: int) -> None:
    if len(values) > 60 or any(
        not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= highest for v in values
    ):
        raise TimetableError(field, f"whole numbers from 0 to {highest}")


@dataclass(frozen=True)
class Cron:
    """A five-field cron expression ("minute hour day-of-month month day-of-week") evaluated
    in ``time_zone``; slots before ``start_time`` (if given) do not count."""

    expression: str
    time_zone: str = "UTC"
    start_time: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "_zone", get_zone(self.time_zone))
        text = self.expression if isinstance(self.expression, str) else ""
        if not text.strip() or len(text) > MAX_CRON_LENGTH or len(text.split()) != 5:
            raise TimetableError("Cron", "five fields: minute hour day-of-month month day-of-week")
        try:
            next(CronSim(text, datetime(2000, 1, 1, tzinfo=UTC)))
        except (CronSimError, StopIteration) as error:
            raise TimetableError("Cron", f"not a valid cron expression ({error})") from None

    @property
    def zone(self) -> ZoneInfo:
        return self._zone  # type: ignore[attr-defined]

    def _walk(self, t: datetime, reverse: bool):
        try:
            walk = CronSim(self.expression, t.astimezone(self.zone), reverse)
            for step, local in enumerate(walk):
                if step >= _MAX_STEPS:
                    return
                yield local.astimezone(UTC)
        except StopIteration:  # cronsim gives up after 50 years without a match
            return

    def next_after(self, t: datetime) -> datetime | None:
        """The first slot strictly after ``t``."""
        if self.start_time is not None and t < self.start_time:
            t = self.start_time - timedelta(microseconds=1)
        # Local wall-clock steps may land before ``t`` in the hour that repeats: walk on.
        return next((s for s in self._walk(t, reverse=False) if s > t), None)

    def latest_at_or_before(self, t: datetime) -> datetime | None:
        """The last slot at or before ``t``, or None before the start time."""
        # cronsim's reverse walk begins one second before a whole-second start: start one
        # second late so that a slot at ``t`` itself is found.
        later = t + timedelta(seconds=1)
        slot = next((s for s in self._walk(later, reverse=True) if s <= t), None)
        if slot is None or (self.start_time is not None and slot < self.start_time):
            return None
        return slot


def upcoming(timetable: Recurrence | Cron, after: datetime, count: int = 5) -> list[datetime]:
    """The next ``count`` slots strictly after ``after``."""
    slots: list[datetime] = []
    t = after
    while len(slots) < count:
        slot = timetable.next_after(t)
        if slot is None:
            break
        slots.append(slot)
        t = slot
    return slots
