"""When schedules fire: recurrences and cron expressions across DST changes (hypothesis)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schedules.timetable import WEEK_DAYS, Cron, Recurrence, TimetableError, upcoming

# Zones with DST jumps at different hours and of different sizes (Lord Howe: 30 minutes).
ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "UTC",
]
instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31)).map(
    lambda t: t.replace(tzinfo=UTC)
)


@st.composite
def recurrences(draw):
    frequency = draw(st.sampled_from(["Minute", "Hour", "Day", "Week", "Month"]))
    zone = draw(st.sampled_from(ZONES))
    start = draw(instants)
    fields = {}
    if frequency in ("Day", "Week"):
        fields["hours"] = tuple(draw(st.lists(st.integers(0, 23), max_size=3)))
        fields["minutes"] = tuple(draw(st.lists(st.sampled_from([0, 15, 30, 45]), max_size=2)))
    if frequency == "Week":
        fields["week_days"] = tuple(draw(st.lists(st.sampled_from(WEEK_DAYS), max_size=3)))
    return Recurrence(frequency, draw(st.integers(1, 5)), start, zone, **fields)


@st.composite
def crons(draw):
    minute = draw(st.sampled_from(["0", "30", "*/15", "5,35"]))
    hour = draw(st.sampled_from(["*", "1", "2", "0-3", "*/6"]))
    day = draw(st.sampled_from(["*", "1", "15"]))
    weekday = draw(st.sampled_from(["*", "0", "1-5"]))
    return Cron(f"{minute} {hour} {day} * {weekday}", draw(st.sampled_from(ZONES)))


timetables = st.one_of(recurrences(), crons())


@settings(max_examples=300, deadline=None)
@given(timetables, instants)
def test_next_slot_is_after_and_nothing_fires_between(timetable, t):
    following = timetable.next_after(t)
    assert following is not None and following > t
    # It is a slot, and no slot lies between t and it.
    assert timetable.latest_at_or_before(following) == following
    before = timetable.latest_at_or_before(following - timedelta(microseconds=1))
    assert before is None or before <= t


@settings(max_examples=200, deadline=None)
@given(timetables, instants)
def test_slots_strictly_increase(timetable, t):
    slots = upcoming(timetable, t, 12)
    assert len(slots) == 12
    assert all(a < b for a, b in zip(slots, slots[1:], strict=False))


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 15, 30, 45]),
    year=st.integers(2025, 2029),
)
def test_a_daily_schedule_fires_once_every_local_day_through_dst(zone, hour, minute, year):
    tz = ZoneInfo(zone)
    start = datetime(year, 1, 1, tzinfo=tz)
    daily = Recurrence("Day", 1, start, zone, hours=(hour,), minutes=(minute,))
    slots = upcoming(daily, start - timedelta(seconds=1), 365)
    days = [s.astimezone(tz).date() for s in slots]
    assert days == [date(year, 1, 1) + timedelta(days=n) for n in range(365)]
    for slot in slots:
        local = slot.astimezone(tz)
        wall = datetime(local.year, local.month, local.day, hour, minute)
        # The asked wall time, or (when the clocks skipped it) the time it became.
        assert local.replace(tzinfo=None) == wall or slot == wall.replace(tzinfo=tz).astimezone(UTC)


def test_0230_daily_in_berlin_fires_once_on_the_day_that_skips_it_and_once_when_repeated():
    berlin = ZoneInfo("Europe/Berlin")
    daily = Recurrence("Day", 1, datetime(2026, 3, 1, 2, 30, tzinfo=berlin), "Europe/Berlin")
    spring = upcoming(daily, datetime(2026, 3, 28, 12, tzinfo=UTC), 2)
    # 02:30 does not exist on 29 March: it fires at 03:30 CEST, once.
    assert [s.astimezone(berlin).strftime("%d %H:%M %Z") for s in spring] == [
        "29 03:30 CEST",
        "30 02:30 CEST",
    ]
    autumn = upcoming(daily, datetime(2026, 10, 24, 12, tzinfo=UTC), 2)
    # 02:30 happens twice on 25 October: it fires at the first, once.
    assert [s.isoformat() for s in autumn] == [
        "2026-10-25T00:30:00+00:00",
        "2026-10-26T01:30:00+00:00",
    ]


def test_cron_at_0130_in_new_york_fires_once_when_the_hour_repeats():
    cron = Cron("30 1 * * *", "America/New_York")
    slots = upcoming(cron, datetime(2026, 10, 31, 12, tzinfo=UTC), 3)
    assert [s.isoformat() for s in slots] == [
        "2026-11-01T05:30:00+00:00",
        "2026-11-02T06:30:00+00:00",
        "2026-11-03T06:30:00+00:00",
    ]


def test_minute_recurrence_counts_from_the_start_time():
    start = datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)
    every_2 = Recurrence("Minute", 2, start)
    assert every_2.latest_at_or_before(datetime(2026, 1, 1, 0, 7, tzinfo=UTC)) == datetime(
        2026, 1, 1, 0, 6, 30, tzinfo=UTC
    )
    assert every_2.latest_at_or_before(start - timedelta(seconds=1)) is None
    assert every_2.next_after(start - timedelta(days=3)) == start


def test_month_on_the_31st_fires_on_the_last_day_of_shorter_months():
    monthly = Recurrence("Month", 1, datetime(2026, 1, 31, 8, tzinfo=UTC))
    slots = upcoming(monthly, datetime(2026, 1, 1, tzinfo=UTC), 3)
    assert [s.date().isoformat() for s in slots] == ["2026-01-31", "2026-02-28", "2026-03-31"]


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda s: Recurrence("Day", 0, s), "Recurrence.Interval"),
        (lambda s: Recurrence("Yearly", 1, s), "Recurrence.Frequency"),
        (lambda s: Recurrence("Hour", 1, s, hours=(3,)), "Recurrence.Hours"),
        (lambda s: Recurrence("Day", 1, s, week_days=("Monday",)), "Recurrence.WeekDays"),
        (lambda s: Recurrence("Week", 1, s, week_days=("Funday",)), "Recurrence.WeekDays"),
        (lambda s: Recurrence("Day", 1, s, minutes=(60,)), "Recurrence.Minutes"),
        (lambda s: Recurrence("Day", 1, s, "Mars/Olympus"), "TimeZone"),
        (lambda s: Cron("61 * * * *"), "Cron"),
        (lambda s: Cron("* * *"), "Cron"),
        (lambda s: Cron("0 0 30 2 *"), "Cron"),
        (lambda s: Cron("@reboot"), "Cron"),
    ],
)
def test_bad_timetables_name_the_field(make, field):
    with pytest.raises(TimetableError) as caught:
        make(datetime(2026, 1, 1, tzinfo=UTC))
    assert caught.value.field == field
