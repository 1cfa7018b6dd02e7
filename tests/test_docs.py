"""The documents users read say what the code does."""

from __future__ import annotations

from ingest.contracts import CONTRACTS
from ingest.docs import DOC_PATH, current_reference, render_reference


def test_exports_doc_reference_matches_the_contracts():
    text = DOC_PATH.read_text(encoding="utf-8")
    assert current_reference(text) == render_reference(), (
        "run `python -m ingest.docs` and commit docs/exports.md"
    )


def test_exports_doc_names_every_entity_and_column():
    text = DOC_PATH.read_text(encoding="utf-8")
    for entity, contract in CONTRACTS.items():
        assert f"#### `{entity}`" in text
        for column in contract.column_names:
            assert f"| `{column}` |" in text
