"""Property test: random corruptions of valid exports (cut lines, stray quotes, random bytes, lines in
another encoding, stray line ends, a truncated end) never lose a record. Every corrupted file is
loaded with rows read = loaded + quarantined = the records a reference parser finds in it
(tests/support/reference_records.py), or refused whole as not being text."""

from __future__ import annotations

import csv
import io
import itertools

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest.load import ingest_paths
from tests.support.reference_records import reference_record_count

GENERIC_HEADER = [
    "invoice_id",
    "counterparty_id",
    "invoice_date",
    "due_date",
    "office_code",
    "product_line",
    "amount",
    "vat_amount",
    "currency",
    "deal_ref",
]
RU_HEADER = [
    "Номер счета",
    "Код контрагента",
    "Дата",
    "Подразделение",
    "Номенклатурная группа",
    "Сумма",
    "Валюта",
]

_counter = itertools.count()

# text a person types into a free-text field: commas, quotes, line breaks, Cyrillic
free_text = st.text(alphabet=st.sampled_from(list("abc xyz,;\"'\n\r\tАБВ ёЖ№1.0")), min_size=0, max_size=12)


@st.composite
def valid_export(draw) -> tuple[bytes, int, str]:
    """A valid invoices export (generic CSV in UTF-8, or Russian accounting in cp1251) whose free-text
    column may hold delimiters, quotes and line breaks; returns its bytes, its field count, delimiter."""
    russian = draw(st.booleans())
    n = draw(st.integers(min_value=1, max_value=25))
    out = io.StringIO()
    if russian:
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow(RU_HEADER)
        for i in range(n):
            amount = draw(st.sampled_from(["1 234,50", "10", "7,5", "1.234", "abc"]))
            writer.writerow(
                [f"I{i}", f"Контрагент {draw(free_text)}", "05.01.2024", "MSK", "cloud", amount, "RUB"]
            )
        return out.getvalue().encode("cp1251", errors="replace"), len(RU_HEADER), ";"
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(GENERIC_HEADER)
    for i in range(n):
        amount = draw(st.sampled_from(["100.50", "12.345", "-5", "x", ""]))
        writer.writerow([f"I{i}", "C1", "2024-01-05", "", "MSK", "cloud", amount, "", "RUB", draw(free_text)])
    return out.getvalue().encode("utf-8"), len(GENERIC_HEADER), ","


def corrupt(draw, data: bytes, start: int) -> bytes:
    """One corruption of the bytes after the header (`start` is where the records begin)."""
    kind = draw(st.sampled_from(["cut", "quote", "bytes", "encoding", "line_end", "truncate"]))
    if len(data) <= start:
        return data
    at = draw(st.integers(min_value=start, max_value=len(data)))
    if kind == "cut":
        length = draw(st.integers(min_value=1, max_value=40))
        return data[:at] + data[at + length :]
    if kind == "quote":
        return data[:at] + b'"' + data[at:]
    if kind == "bytes":
        return data[:at] + draw(st.binary(min_size=1, max_size=4)) + data[at:]
    if kind == "line_end":
        return data[:at] + draw(st.sampled_from([b"\r", b"\n", b"\r\n"])) + data[at:]
    if kind == "truncate":
        return data[:at]
    # a line written in the other encoding (UTF-8 <-> cp1251)
    lines = data[start:].split(b"\n")
    index = draw(st.integers(min_value=0, max_value=len(lines) - 1))
    try:
        text = lines[index].decode("utf-8")
        lines[index] = text.encode("cp1251", errors="replace")
    except UnicodeDecodeError:
        lines[index] = lines[index].decode("cp1251", errors="replace").encode("utf-8")
    return data[:start] + b"\n".join(lines)


@st.composite
def corrupted_export(draw) -> tuple[bytes, int, str]:
    data, n_fields, delimiter = draw(valid_export())
    start = data.index(b"\n") + 1
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        data = corrupt(draw, data, start)
    return data, n_fields, delimiter


RU_HEADER_LINE = ";".join(RU_HEADER).encode("cp1251") + b"\r\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(export=corrupted_export())
# a stray quote before the first field closes inside the free-text field: DuckDB's reader reported
# the two broken lines as one rejected record of empty text (read 1, the reference finds 2)
@example(
    export=(
        RU_HEADER_LINE + '"I0;"Контрагент \n";05.01.2024;MSK;cloud;1 234,50;RUB\r\n'.encode("cp1251"),
        len(RU_HEADER),
        ";",
    )
)
# the same 11 records on: a quote opened in record 3 closes in record 14's quoted field
@example(
    export=(
        RU_HEADER_LINE
        + "".join(
            f"I{i};Контрагент {';' + chr(34) if i == 2 else ''};05.01.2024;MSK;cloud;10;RUB\r\n"
            for i in range(13)
        ).encode("cp1251")
        + 'I13;"Контрагент \n";05.01.2024;MSK;cloud;10;RUB\r\n'.encode("cp1251"),
        len(RU_HEADER),
        ";",
    )
)
def test_a_corrupted_export_loses_no_record(tmp_path_factory, export):
    data, n_fields, delimiter = export
    folder = tmp_path_factory.mktemp("corrupted")
    path = folder / f"invoices__2024-{next(_counter) % 12 + 1:02d}.csv"
    path.write_bytes(data)

    (result,) = ingest_paths([path], folder / "warehouse.duckdb").files

    if result.status == "refused":
        assert "not text" in result.message, result.message
        return
    assert result.status == "loaded", result.message
    assert result.rows_read == result.rows_loaded + result.rows_quarantined
    assert result.rows_read == reference_record_count(data, n_fields, delimiter), data
