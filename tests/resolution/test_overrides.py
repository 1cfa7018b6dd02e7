"""The manual override file: read, validated, and errors that say where."""

from __future__ import annotations

import pytest

from resolution.overrides import OverrideFileError, read_overrides


def write(tmp_path, text: str):
    path = tmp_path / "client_matches.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_missing_file_means_no_overrides(tmp_path):
    assert read_overrides(tmp_path / "absent.csv").empty
    assert read_overrides(None).empty


def test_rows_are_read_with_decisions_lower_cased_and_blank_lines_skipped(tmp_path):
    path = write(
        tmp_path,
        "record_key_a,record_key_b,decision,note\n"
        "accounts:A1,counterparties:K1,MUST_MATCH,one holding\n"
        "\n"
        "leads:L1,accounts:A2,must_not_match,\n",
    )
    frame = read_overrides(path)
    assert frame["decision"].tolist() == ["must_match", "must_not_match"]
    assert frame["note"].tolist() == ["one holding", ""]


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("a,b,decision\n", "missing columns", 1),
        ("record_key_a,record_key_b,decision,note\naccounts:A1,,must_match,\n", "both required", 2),
        ("record_key_a,record_key_b,decision,note\nA1,accounts:A2,must_match,\n", "look like", 2),
        ("record_key_a,record_key_b,decision,note\naccounts:A1,accounts:A2,maybe,\n", "must be one of", 2),
        (
            "record_key_a,record_key_b,decision,note\naccounts:A1,accounts:A1,must_match,\n",
            "its own match",
            2,
        ),
    ],
)
def test_a_malformed_row_names_the_file_and_line(tmp_path, text, message, line):
    path = write(tmp_path, text)
    with pytest.raises(OverrideFileError, match=message) as err:
        read_overrides(path)
    assert err.value.line == line
    assert str(path) in str(err.value)
