"""rate() and cron() expressions: which moments are due (no AWS involved)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mlops.local.schedule import ScheduleError, due_times

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday


def test_rate_fires_every_interval_after_the_start() -> None:
    assert due_times("rate(1 hour)", START, START, START + timedelta(minutes=59)) == []
    assert due_times("rate(1 hour)", START, START, START + timedelta(hours=3)) == [
        START + timedelta(hours=hour) for hour in (1, 2, 3)
    ]
    later = START + timedelta(hours=2, minutes=30)
    assert due_times("rate(2 hours)", START, later, later + timedelta(hours=2)) == [
        START + timedelta(hours=4)
    ]


def test_cron_with_names_steps_and_question_mark() -> None:
    weekdays_at_noon = due_times(
        "cron(0 12 ? * MON-FRI *)", START, START, START + timedelta(days=7)
    )
    assert [moment.strftime("%a %H:%M") for moment in weekdays_at_noon] == [
        "Mon 12:00", "Tue 12:00", "Wed 12:00", "Thu 12:00", "Fri 12:00",
    ]  # fmt: skip
    quarter_hours = due_times("cron(0/15 10 * * ? *)", START, START, START + timedelta(hours=1))
    assert [moment.minute for moment in quarter_hours] == [15, 30, 45]
    first_of_month = due_times("cron(30 6 1 * ? *)", START, START, START + timedelta(days=40))
    assert first_of_month == [datetime(2026, 4, 1, 6, 30, tzinfo=UTC)]


@pytest.mark.parametrize(
    "expression",
    ["every 5 minutes", "rate(5 weeks)", "cron(0 12 * * *)", "cron(0 12 * * MON *)",
     "cron(0 12 L * ? *)", "cron(61 * * * ? *)"],
)  # fmt: skip
def test_unreadable_expressions_are_refused(expression: str) -> None:
    with pytest.raises(ScheduleError):
        due_times(expression, START, START, START + timedelta(days=1))
