"""Property tests for the parsers vendor dialects add: SQL (what the loader runs) and Python agree
on arbitrary text, and known values read right (zoned and epoch timestamps, Salesforce ids, code
maps, derived keys)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest import parsing as p
from ingest.dialects.bitrix24 import BITRIX24
from ingest.dialects.ga4 import GA4
from ingest.dialects.salesforce import OPPORTUNITY_STAGES, SALESFORCE

SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
texty = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=24)


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect()
    # a session far from UTC: zoned and naive timestamps must not depend on it
    connection.execute("set TimeZone = 'Asia/Vladivostok'")
    yield connection
    connection.close()


def sql_eval(con, expr_builder, *values):
    names = [f"x{i}" for i in range(len(values))]
    expr = expr_builder(*names)
    cleaned = ", ".join(f"{p.sql_clean_text('?::VARCHAR')} AS {n}" for n in names)
    return con.execute(f"select {expr} from (select {cleaned})", list(values)).fetchone()[0]


aware = st.datetimes(min_value=datetime(1985, 1, 1), max_value=datetime(2105, 1, 1)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)
)
offsets = st.integers(-12 * 60, 14 * 60).map(lambda m: timedelta(minutes=m))


def salesforce_text(moment: datetime, offset: timedelta, style: int) -> str:
    if style == 0:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    sign = "+" if offset >= timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    zone = f"{sign}{minutes // 60:02d}{':' if style == 1 else ''}{minutes % 60:02d}"
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + zone


@SETTINGS
@given(aware, offsets, st.integers(0, 2))
def test_salesforce_timestamps_in_any_offset_read_as_the_same_utc_time_in_sql_and_python(
    con, moment, offset, style
):
    text = salesforce_text(moment, offset, style)
    formats = SALESFORCE.timestamp_formats
    expected = moment if style == 0 else (moment.replace(tzinfo=UTC) - offset).replace(tzinfo=None)
    if style != 0:
        expected = expected.replace(microsecond=0)
    in_range = p.MIN_DATE <= expected.date() <= p.MAX_DATE
    assert p.parse_timestamp(text, formats) == (expected if in_range else None)
    assert sql_eval(con, lambda x: p.sql_timestamp(x, formats), text) == p.parse_timestamp(text, formats)


@SETTINGS
@given(
    st.one_of(
        texty,
        st.from_regex(
            r"20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9](\.[0-9]{1,7})?(Z|[+-][0-9]{2}:?[0-9]{2}|[+-][0-9]{2})?",
            fullmatch=True,
        ),
    )
)
@example("2024-02-30T10:00:00.000Z")
@example("2024-03-01T10:15:00+03")
@example("2024-03-01T10:15:00+03:00:00")
def test_zoned_timestamp_sql_and_python_agree(con, text):
    formats = SALESFORCE.timestamp_formats
    assert sql_eval(con, lambda x: p.sql_timestamp(x, formats), text) == p.parse_timestamp(text, formats)


@SETTINGS
@given(st.one_of(st.integers(0, 10**18).map(str), st.from_regex(r"[0-9]{15,18}", fullmatch=True), texty))
@example("1709287200123456")
@example("-1709287200123456")
def test_epoch_microseconds_sql_and_python_agree(con, text):
    formats = GA4.timestamp_formats
    assert sql_eval(con, lambda x: p.sql_timestamp(x, formats), text) == p.parse_timestamp(text, formats)


def test_epoch_microseconds_are_utc():
    assert p.parse_timestamp("1709287200123456", (p.EPOCH_MICROS,)) == datetime(2024, 3, 1, 10, 0, 0, 123456)


@SETTINGS
@given(
    st.one_of(
        st.from_regex(r"[a-zA-Z0-9]{15}", fullmatch=True),
        st.from_regex(r"[a-zA-Z0-9]{14,19}", fullmatch=True),
        texty,
    )
)
def test_salesforce_id_sql_and_python_agree(con, text):
    assert sql_eval(con, p.sql_salesforce_id18, text) == p.salesforce_id18(text)


@SETTINGS
@given(st.from_regex(r"[a-zA-Z0-9]{15}", fullmatch=True))
def test_an_18_character_id_is_its_15_character_id_plus_a_suffix_that_survives_lost_case(id15):
    id18 = p.salesforce_id18(id15)
    assert id18[:15] == id15 and len(id18) == 18
    assert p.salesforce_id18(id18) == id18


def test_salesforce_id_suffix_matches_salesforce():
    assert p.salesforce_id18("001A0000006Vm9r") == "001A0000006Vm9rIAC"


@SETTINGS
@given(
    st.one_of(
        st.sampled_from([v for v, _ in OPPORTUNITY_STAGES]),
        st.sampled_from(["closed won", " CLOSED LOST ", "won", ""]),
        texty,
    )
)
def test_code_maps_sql_and_python_agree(con, text):
    pairs = OPPORTUNITY_STAGES + (("Other", None),)
    assert sql_eval(con, lambda x: p.sql_value_map(x, pairs), text) == p.parse_value_map(text, pairs)


def test_codes_are_matched_without_case_and_unknown_text_passes_through():
    stages = BITRIX24.field_for("deals", "stage").values
    assert p.parse_value_map("сделка УСПЕШНА", stages) == "won"
    assert p.parse_value_map("На паузе", stages) == "На паузе"


@SETTINGS
@given(st.lists(st.one_of(st.none(), texty), min_size=1, max_size=4))
def test_derived_keys_sql_and_python_agree(con, parts):
    assert sql_eval(con, lambda *xs: p.sql_derive_key(list(xs)), *parts) == p.derive_key(parts)


@SETTINGS
@given(aware, offsets, st.integers(0, 2))
def test_date_of_a_timestamp_sql_and_python_agree(con, moment, offset, style):
    text = salesforce_text(moment, offset, style)
    formats = SALESFORCE.timestamp_formats
    sql = sql_eval(con, lambda x: p.sql_date_of_timestamp(x, formats), text)
    assert sql == p.parse_date_of_timestamp(text, formats)
