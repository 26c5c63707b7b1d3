"""The `tongxin` command's pure parts: formatting, option checks, schema comparison. No network."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tongxin_cli.console import one_line, without_password
from tongxin_cli.main import app
from tongxin_cli.schemas_cmd import compare
from tongxin_cli.seed_cmd import counts_table, idempotency_key, problem_lines
from tongxin_cli.store_cmds import short_hash, short_type, utc
from tongxin_cli.stores import database_name
from tongxin_cli.tail_cmd import compact_body, format_record, start_offset
from tongxin_platform.replay import behind


def test_an_event_type_is_shown_without_its_namespace_and_a_hash_by_its_first_12_hex() -> None:
    assert short_type("cn.tongxin.registry.StudentEnrolled.v1") == "StudentEnrolled.v1"
    assert short_type("something.else") == "something.else"
    assert short_hash(bytes.fromhex("00ff" * 16)) == "00ff00ff00ff"
    assert short_hash(None) == "-"


def test_recorded_times_are_printed_in_utc_to_the_millisecond() -> None:
    beijing = timezone(timedelta(hours=8))
    assert utc(datetime(2026, 9, 1, 8, 0, 0, 123456, tzinfo=beijing)) == "2026-09-01T00:00:00.123Z"


def test_a_password_in_a_database_url_is_never_printed() -> None:
    assert without_password("postgresql://app:s3cret@db:5432/x") == "postgresql://app:***@db:5432/x"
    assert without_password("postgresql://postgres@127.0.0.1:15432/postgres") == (
        "postgresql://postgres@127.0.0.1:15432/postgres"
    )


def test_one_line_keeps_the_first_non_empty_line_and_cuts_it() -> None:
    assert one_line("\n  \nfirst\nsecond") == "first"
    assert one_line("x" * 500, limit=10) == "x" * 9 + "…"
    assert one_line("") == ""


def test_the_seed_idempotency_key_follows_the_content_and_the_run() -> None:
    a = idempotency_key("students", b"csv", "run1")
    assert a == idempotency_key("students", b"csv", "run1")
    assert a != idempotency_key("students", b"csv!", "run1")
    assert a != idempotency_key("staff", b"csv", "run1")
    assert a != idempotency_key("students", b"csv", "run2")
    assert len(a) <= 200  # the registry refuses longer keys


def test_a_problem_response_gives_its_detail_then_its_first_errors() -> None:
    body = {
        "detail": "row 8, field birth_date: not a date",
        "errors": [
            {"row": n, "field": "birth_date", "message": "not a date"} for n in range(8, 16)
        ],
    }
    lines = problem_lines(body, limit=3)
    assert lines[0] == "row 8, field birth_date: not a date"
    assert lines[1] == "row 8, field birth_date: not a date"
    assert len(lines) == 5
    assert lines[-1] == "… and 5 more error(s)"
    assert problem_lines("<html>bad gateway</html>") == ["<html>bad gateway</html>"]


def test_the_counts_table_sums_events_per_type_over_both_imports() -> None:
    table = counts_table(
        {
            "students": {"by_type": {"StudentEnrolled": 3, "ClassOpened": 1}},
            "staff": {"by_type": {"StaffAssigned": 2}},
        }
    )
    cells = [list(col.cells) for col in table.columns]
    assert cells[0] == ["ClassOpened", "StaffAssigned", "StudentEnrolled", "[bold]total[/bold]"]
    assert cells[1] == ["1", "2", "3", "[bold]6[/bold]"]


def test_a_record_is_one_header_line_and_its_compact_json_body() -> None:
    headers = [
        ("ce_type", b"cn.tongxin.registry.ClassOpened.v1"),
        ("ce_subject", b"class-1"),
        ("ce_time", b"2026-09-01T00:00:00+00:00"),
    ]
    head, body = format_record(
        2, 17, headers, json.dumps({"a": [1, 2], "b": "班"}, indent=2).encode()
    )
    assert head == ("p2@17  cn.tongxin.registry.ClassOpened.v1  class-1  2026-09-01T00:00:00+00:00")
    assert body == '{"a":[1,2],"b":"班"}'
    assert format_record(0, 0, [], None) == ("p0@0  (no ce_type)  -  -", "(no body)")
    assert compact_body(b"\xff not json") == "\ufffd not json"


def test_tail_starts_n_records_before_the_end_unless_from_the_beginning() -> None:
    assert start_offset(0, 100, 10, from_beginning=False) == 90
    assert start_offset(95, 100, 10, from_beginning=False) == 95
    assert start_offset(0, 100, 0, from_beginning=False) == 100
    assert start_offset(7, 100, 10, from_beginning=True) == 7


def test_the_database_is_the_option_then_the_services_variable_then_the_convention() -> None:
    env = {"REGISTRY_DATABASE_NAME": "t_abc"}
    assert database_name("registry", "mine", env) == "mine"
    assert database_name("registry", None, env) == "t_abc"
    assert database_name("visits", None, env) == "tongxin_visits"


def test_how_far_behind_a_group_is_counts_unstored_partitions_from_zero() -> None:
    assert behind({0: 5, 1: 3}, {0: 5, 1: 3}) == 0
    assert behind({0: 5}, {0: 7, 1: 2}) == 4
    assert behind({0: 9}, {0: 7}) == 0


def test_schema_comparison_names_changed_missing_and_stale_files(tmp_path: Path) -> None:
    want, have = tmp_path / "want", tmp_path / "have"
    for root in (want, have):
        (root / "registry").mkdir(parents=True)
    (want / "registry/A.v1.json").write_text("{}")
    (have / "registry/A.v1.json").write_text("{ }")
    (want / "registry/B.v1.json").write_text("{}")
    (have / "registry/Gone.v1.json").write_text("{}")
    (want / "asyncapi.json").write_text("{}")
    (have / "asyncapi.json").write_text("{}")
    diff = compare(want, have)
    assert diff.changed == ["registry/A.v1.json"]
    assert diff.missing == ["registry/B.v1.json"]
    assert diff.extra == ["registry/Gone.v1.json"]
    assert not diff.clean
    assert compare(want, want).clean
    assert compare(want, tmp_path / "nowhere").missing == sorted(
        ["asyncapi.json", "registry/A.v1.json", "registry/B.v1.json"]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["verify", "--service", "accounting"], "unknown service 'accounting'"),
        (["audit", "x", "--database", "Robert'); DROP"], "not a valid database name"),
        (["tail", "no spaces allowed"], "not a valid Kafka topic name"),
        (["seed", "--registry-url", "ftp://example"], "must be an http:// or https:// URL"),
        (["replay", "accounting"], "unknown service 'accounting'"),
    ],
)
def test_bad_arguments_are_refused_with_one_line_and_exit_code_2(
    args: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_out_of_range_counts_are_usage_errors() -> None:
    result = CliRunner().invoke(app, ["seed", "--schools", "0"])
    assert result.exit_code == 2
    assert "--schools" in result.output
