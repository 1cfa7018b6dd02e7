"""Property tests: each value parser's SQL form (what the loader runs) agrees with
its Python reference on arbitrary text, and known-good values round-trip."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest import parsing as p

SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


def sql_eval(con, expr_builder, value):
    """Evaluate expr_builder('x') on one value, the same way the loader does (trimmed text)."""
    expr = expr_builder("x")
    return con.execute(
        f"select {expr} from (select {p.sql_clean_text('?::VARCHAR')} AS x)", [value]
    ).fetchone()[0]


def inn_digits(draw_digits: list[int], length: int) -> str:
    body = "".join(str(d) for d in draw_digits[: length - (1 if length == 10 else 2)])
    if length == 10:
        return body + str(p.inn_check_digit(body, p.INN10_WEIGHTS))
    first = body + str(p.inn_check_digit(body, p.INN11_WEIGHTS))
    return first + str(p.inn_check_digit(first, p.INN12_WEIGHTS))


valid_inns = st.builds(
    inn_digits, st.lists(st.integers(0, 9), min_size=11, max_size=11), st.sampled_from([10, 12])
)
texty = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20)
digity = st.text(alphabet="0123456789 +-()., \u00a0abc@", max_size=16)


@SETTINGS
@given(valid_inns)
def test_a_generated_inn_with_correct_check_digits_is_accepted_by_both_parsers(con, inn):
    assert p.parse_inn(inn) == inn
    assert sql_eval(con, p.sql_inn, inn) == inn


@SETTINGS
@given(valid_inns, st.integers(1, 9))
def test_changing_the_check_digit_of_an_inn_makes_it_invalid(con, inn, delta):
    broken = inn[:-1] + str((int(inn[-1]) + delta) % 10)
    assert p.parse_inn(broken) is None
    assert sql_eval(con, p.sql_inn, broken) is None


@SETTINGS
@given(st.one_of(valid_inns, digity, texty))
@example("7707083893")
@example("77070 83893")
@example("")
def test_inn_sql_and_python_agree(con, text):
    assert sql_eval(con, p.sql_inn, text) == p.parse_inn(text)


@SETTINGS
@given(st.one_of(st.from_regex(r"[0-9]{4}[0-9A-Za-z]{2}[0-9]{3}", fullmatch=True), texty))
def test_kpp_sql_and_python_agree(con, text):
    assert sql_eval(con, p.sql_kpp, text) == p.parse_kpp(text)


@SETTINGS
@given(
    st.one_of(
        st.from_regex(r"[A-Za-z0-9._+-]{1,10}@[A-Za-z0-9-]{1,10}\.[A-Za-z]{2,4}", fullmatch=True),
        texty,
        st.just("Mailto:Ivan@Example.COM"),
    )
)
def test_email_sql_and_python_agree(con, text):
    assert sql_eval(con, p.sql_email, text) == p.parse_email(text)


@SETTINGS
@given(
    st.one_of(
        digity, st.from_regex(r"(\+7|8)[ (]?9[0-9]{2}[) ]?[0-9]{3}[- ]?[0-9]{2}[- ]?[0-9]{2}", fullmatch=True)
    )
)
def test_phone_sql_and_python_agree(con, text):
    assert sql_eval(con, p.sql_phone, text) == p.parse_phone(text)


@SETTINGS
@given(
    st.from_regex(r"9[0-9]{9}", fullmatch=True),
    st.sampled_from(["+7 ({a}) {b}-{c}-{d}", "8{a}{b}{c}{d}", "8 {a} {b} {c} {d}"]),
)
def test_russian_mobile_numbers_in_any_common_format_normalise_to_the_same_e164(number, template):
    text = template.format(a=number[:3], b=number[3:6], c=number[6:8], d=number[8:])
    assert p.parse_phone(text) == "+7" + number


@SETTINGS
@given(
    st.one_of(digity, st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str)), st.booleans()
)
def test_decimal_sql_and_python_agree(con, text, decimal_comma):
    assert sql_eval(con, lambda x: p.sql_decimal(x, decimal_comma), text) == p.parse_decimal(
        text, decimal_comma
    )


@SETTINGS
@given(st.decimals(min_value=-(10**12), max_value=10**12, places=2), st.sampled_from([" ", "\u00a0"]))
def test_ru_formatted_amounts_round_trip(con, amount, thousands):
    text = f"{amount:,.2f}".replace(",", thousands).replace(".", ",")
    assert p.parse_decimal(text, decimal_comma=True) == amount
    assert sql_eval(con, lambda x: p.sql_decimal(x, True), text) == amount


@SETTINGS
@given(
    st.one_of(
        st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 1, 1)).map(
            lambda d: d.strftime("%d.%m.%Y")
        ),
        digity,
    )
)
def test_ru_date_sql_and_python_agree_and_keep_the_range(con, text):
    formats = ("%d.%m.%Y",)
    assert sql_eval(con, lambda x: p.sql_date(x, formats), text) == p.parse_date(text, formats)


@SETTINGS
@given(st.one_of(st.integers(-(10**20), 10**20).map(str), digity))
def test_integer_sql_and_python_agree(con, text):
    assert sql_eval(con, p.sql_integer, text) == p.parse_integer(text)


@SETTINGS
@given(st.sampled_from(["MSK", "msk", " Spb", "XXX", "", "мск"]))
def test_enum_sql_and_python_agree(con, text):
    allowed = ("MSK", "SPB")
    assert sql_eval(con, lambda x: p.sql_enum(x, allowed), text) == p.parse_enum(text, allowed)


@SETTINGS
@given(
    st.text(
        alphabet='АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдеёжзийклмнопрстуфхцчшщъыьэюя «»"-',
        min_size=2,
        max_size=30,
    )
)
def test_mojibake_of_cyrillic_text_is_repaired_to_the_original(text):
    if not any("\u0410" <= ch <= "\u044f" or ch in "Ёё" for ch in text):
        return
    garbled = text.encode("utf-8").decode("cp1251", errors="strict") if _cp1251_decodes(text) else None
    if garbled is None:
        return
    # Text made only of letters whose mojibake reads like correct text ("и" -> "Рё", "л" -> "Р»")
    # cannot be told apart from it and is left alone; any other letter proves it.
    proven = any(pair[1] not in p.AMBIGUOUS_AFTER_RS for pair in _pairs(garbled))
    assert p.repair_mojibake(garbled) == (text if proven else None)


def _pairs(garbled: str) -> list[str]:
    return [
        garbled[i : i + 2]
        for i in range(len(garbled) - 1)
        if garbled[i] in "РС" and garbled[i + 1] >= "\u0080"
    ]


def _cp1251_decodes(text: str) -> bool:
    try:
        text.encode("utf-8").decode("cp1251")
    except UnicodeDecodeError:
        return False
    return True


@SETTINGS
@given(st.text(alphabet="АБВГДЕЖЗИКЛМНОПРСТУФабвгдежзиклмнопрстуф ёЁ0123456789-«»", max_size=30))
def test_correct_cyrillic_text_is_never_repaired(text):
    assert p.repair_mojibake(text) is None


def test_decimal_comma_parser_reads_thousands_with_non_breaking_spaces():
    assert p.parse_decimal("1\u00a0234\u00a0567,89", decimal_comma=True) == Decimal("1234567.89")
    assert p.parse_decimal("1,234.56", decimal_comma=False) is None


@SETTINGS
@given(
    st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False, places=4).map(str),
        st.from_regex(r"[+-]?[0-9]{1,4}[.,][0-9]{1,4}", fullmatch=True),
    ),
    st.booleans(),
)
def test_ambiguous_number_sql_and_python_agree(con, text, decimal_comma):
    assert sql_eval(con, lambda x: p.sql_decimal_ambiguous(x, decimal_comma), text) == p.decimal_is_ambiguous(
        text, decimal_comma
    )
