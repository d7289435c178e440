"""The calendar settings: base choice, list validation at start-up, the uncovered-year warning."""

from datetime import date
from typing import Any

import pytest
from structlog.testing import capture_logs

from complaint_svc.config import Settings
from retailcare_shared.settings import ConfigurationError
from retailcare_shared.workdays import statutory_calendar

REQUIRED = {
    "database_url": "postgresql://u@localhost:5432/complaint_svc",
    "kafka_bootstrap_servers": "localhost:9092",
    "auth_jwt_secret": "s3cret",
}
LAST_COVERED = max(statutory_calendar().years)


def settings(**values: Any) -> Settings:
    return Settings.load(**REQUIRED, **values)


def test_the_china_calendar_is_the_default() -> None:
    calendar = settings().calendar(today=date(2026, 2, 1))
    assert not calendar.is_working_day(date(2026, 2, 16))  # Spring Festival
    assert calendar.is_working_day(date(2026, 2, 14))  # make-up Saturday
    weekdays = settings(workday_calendar="weekdays").calendar(today=date(2026, 2, 1))
    assert weekdays.is_working_day(date(2026, 2, 16))


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"workday_calendar": "lunar"}, "COMPLAINT_SVC_WORKDAY_CALENDAR"),
        ({"holidays": "2026-02-30"}, "COMPLAINT_SVC_HOLIDAYS"),
        ({"makeup_workdays": "2026-13-01"}, "COMPLAINT_SVC_MAKEUP_WORKDAYS"),
        (
            {"holidays": "2026-03-02,2026-03-03", "makeup_workdays": "2026-03-03"},
            "COMPLAINT_SVC_MAKEUP_WORKDAYS",
        ),
    ],
)
def test_bad_calendar_settings_fail_at_start_up(values: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        settings(**values)
    assert f"{variable}:" in str(raised.value)


def test_a_coming_uncovered_year_is_named_in_a_warning() -> None:
    december = date(LAST_COVERED, 12, 7)
    with capture_logs() as logs:
        settings().calendar(today=december)
    warnings = [log for log in logs if log["event"] == "workday_calendar_year_not_covered"]
    assert [(log["log_level"], log["years"]) for log in warnings] == [
        ("warning", [LAST_COVERED + 1])
    ]
    configured = settings(holidays=f"{LAST_COVERED + 1}-01-01")
    with capture_logs() as logs:
        configured.calendar(today=december)
        settings(workday_calendar="weekdays").calendar(today=december)
        settings().calendar(today=date(LAST_COVERED - 1, 12, 7))
    assert [log for log in logs if log["event"] == "workday_calendar_year_not_covered"] == []
