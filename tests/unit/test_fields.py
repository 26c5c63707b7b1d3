"""The request fields every service shares (``tongxin_platform.fields``): a day and a moment this
century, a school year of two consecutive years in its body, query and path forms, an
identifier, an ``as_of`` day, a district's code, a school's id, the ``Idempotency-Key``, and an
optional from/to range checked in order and bounded — each refused as a 422 problem+json naming
the field, never a server error."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, TypeAdapter, ValidationError

from tongxin_platform.fields import (
    AsOf,
    Day,
    DistrictId,
    Key,
    Moment,
    Ref,
    SchoolId,
    SchoolYear,
    SchoolYearPath,
    SchoolYearQuery,
    day_range,
)
from tongxin_platform.http import PROBLEM, ProblemError, install_problem_handlers

CHINA = timezone(timedelta(hours=8))
WEST = timezone(timedelta(hours=-8))


class Body(BaseModel):
    school_year: SchoolYear
    on: Day
    at: Moment
    ref: Ref


GOOD: dict[str, Any] = {
    "school_year": "2026-2027",
    "on": "2026-10-01",
    "at": "2026-10-01T08:00:00+08:00",
    "ref": "stu_01-a",
}


def refused(**change: Any) -> list[str]:
    with pytest.raises(ValidationError) as e:
        Body.model_validate({**GOOD, **change})
    return [".".join(str(p) for p in err["loc"]) for err in e.value.errors()]


def test_a_body_of_this_century_and_of_consecutive_years_is_taken() -> None:
    body = Body.model_validate(GOOD)
    assert (body.school_year, body.on, body.ref) == ("2026-2027", date(2026, 10, 1), "stu_01-a")


@pytest.mark.parametrize("day", ["2000-01-01", "2099-12-31"])
def test_the_first_and_the_last_day_of_the_century_are_days(day: str) -> None:
    assert TypeAdapter(Day).validate_python(day) == date.fromisoformat(day)


@pytest.mark.parametrize("day", ["1999-12-31", "2100-01-01", "0001-01-01", "9999-12-31"])
def test_a_day_outside_the_century_is_refused_naming_the_field(day: str) -> None:
    assert refused(on=day) == ["on"]


@pytest.mark.parametrize(
    "moment",
    [
        datetime(9999, 12, 31, 20, tzinfo=WEST),  # to UTC it would overflow: refused first
        datetime(2000, 1, 1, 5, tzinfo=CHINA),  # this century here, 1999 in UTC
        datetime(2099, 12, 31, 20, tzinfo=WEST),  # this century here, 2100 in UTC
    ],
)
def test_a_moment_outside_the_century_here_or_in_utc_is_refused(moment: datetime) -> None:
    assert refused(at=moment.isoformat()) == ["at"]


def test_a_moment_without_its_time_zone_is_refused() -> None:
    assert refused(at="2026-10-01T08:00:00") == ["at"]


@pytest.mark.parametrize("year", ["2026-2028", "2026-2026", "2027-2026", "1999-2000", "2026/2027"])
def test_a_school_year_is_two_consecutive_years_of_this_century(year: str) -> None:
    assert refused(school_year=year) == ["school_year"]


@pytest.mark.parametrize("ref", ["", "a b", "a/b", "x" * 65, "名字"])
def test_an_identifier_is_1_to_64_letters_digits_dashes_or_underscores(ref: str) -> None:
    assert refused(ref=ref) == ["ref"]


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/years/{school_year}")
    async def by_path(school_year: SchoolYearPath) -> dict[str, Any]:
        return {"school_year": school_year}

    @app.get("/figures")
    async def by_query(school_year: SchoolYearQuery = None, as_of: AsOf = None) -> dict[str, Any]:
        return {"school_year": school_year, "as_of": as_of}

    @app.post("/districts/{district}/schools/{school_id}")
    async def command(
        district: DistrictId, school_id: SchoolId, idempotency_key: Key = None
    ) -> dict[str, Any]:
        return {"district": district, "school_id": school_id, "key": idempotency_key}

    return app


def test_a_district_is_six_digits_a_school_an_identifier_and_the_key_a_header() -> None:
    http = TestClient(_app(), raise_server_exceptions=False)
    r = http.post("/districts/330106/schools/sch_1", headers={"Idempotency-Key": "k1"})
    assert r.json() == {"district": "330106", "school_id": "sch_1", "key": "k1"}
    assert http.post("/districts/330106/schools/sch_1").json()["key"] is None
    for path, field in (
        ("/districts/33010/schools/sch_1", "path.district"),
        ("/districts/330106/schools/a%20b", "path.school_id"),
    ):
        r = http.post(path)
        assert r.status_code == 422, r.text
        assert r.json()["detail"].startswith(f"{field}: ")


def test_the_query_forms_are_optional_and_taken_when_well_formed() -> None:
    http = TestClient(_app())
    assert http.get("/figures").json() == {"school_year": None, "as_of": None}
    r = http.get("/figures", params={"school_year": "2026-2027", "as_of": "2026-10-01"})
    assert r.json() == {"school_year": "2026-2027", "as_of": "2026-10-01"}
    assert http.get("/years/2026-2027").json() == {"school_year": "2026-2027"}


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/figures", {"school_year": "2026-2028"}, "query.school_year"),
        ("/figures", {"school_year": "26-27"}, "query.school_year"),
        ("/figures", {"as_of": "9999-12-31"}, "query.as_of"),
        ("/figures", {"as_of": "0001-01-01"}, "query.as_of"),
        ("/years/2026-2028", {}, "path.school_year"),
    ],
)
def test_a_query_or_path_field_out_of_its_rule_is_a_problem_naming_it(
    path: str, params: dict[str, str], field: str
) -> None:
    r = TestClient(_app(), raise_server_exceptions=False).get(path, params=params)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["detail"].startswith(f"{field}: ")


def test_a_year_path_and_a_year_query_describe_themselves_in_the_openapi() -> None:
    spec = _app().openapi()
    by_path = spec["paths"]["/years/{school_year}"]["get"]["parameters"][0]
    by_query = {p["name"]: p for p in spec["paths"]["/figures"]["get"]["parameters"]}
    assert "2026-2027" in by_path["description"]
    assert "default" in by_query["school_year"]["description"]
    assert "default: today" in by_query["as_of"]["description"]
    assert by_path["schema"]["pattern"] == by_query["school_year"]["schema"]["anyOf"][0]["pattern"]


TODAY = date(2026, 11, 28)


def _term(day: date) -> date:
    return date(day.year if day.month >= 9 else day.year - 1, 9, 1)


def test_a_range_without_ends_runs_from_the_routes_start_to_today() -> None:
    assert day_range(None, None, today=TODAY, start=_term) == (date(2026, 9, 1), TODAY)
    last = date(2026, 3, 1)
    assert day_range(None, last, today=TODAY, start=_term) == (date(2025, 9, 1), last)
    first = date(2026, 10, 1)
    assert day_range(first, None, today=TODAY, start=_term) == (first, TODAY)


def test_a_range_of_one_day_is_a_range() -> None:
    assert day_range(TODAY, TODAY, today=TODAY, start=_term) == (TODAY, TODAY)


def _refusal(first: date, last: date, longest: timedelta | None = None) -> ProblemError:
    with pytest.raises(ProblemError) as e:
        day_range(first, last, today=TODAY, start=_term, longest=longest)
    return e.value


def test_a_range_out_of_order_is_refused_naming_from_and_the_rule() -> None:
    e = _refusal(TODAY, TODAY - timedelta(days=1))
    assert (e.status, e.extra) == (422, {"field": "from", "rule": "date_range"})
    assert e.detail.startswith("from: ")


def test_a_range_longer_than_the_routes_bound_is_refused_and_the_bound_itself_is_taken() -> None:
    longest = timedelta(days=400)
    first = TODAY - longest
    assert day_range(first, TODAY, today=TODAY, start=_term, longest=longest) == (first, TODAY)
    e = _refusal(first - timedelta(days=1), TODAY, longest)
    assert (e.status, e.extra) == (422, {"field": "from", "rule": "date_range"})
    assert "400 days" in e.detail


def test_a_range_without_a_bound_may_be_long() -> None:
    first = date(2000, 1, 1)
    assert day_range(first, TODAY, today=TODAY, start=_term) == (first, TODAY)
