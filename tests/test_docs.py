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


def test_every_test_the_operations_guide_cites_for_a_guarantee_exists():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    text = (root / "docs" / "operations.md").read_text(encoding="utf-8")
    section = text.split("## Guarantees", 1)[1]
    cited = 0
    for line in section.splitlines():
        current = None
        for ref in re.findall(r"`([^`]*(?:tests/|::)[^`]*)`", line):
            path, _, name = ref.partition("::")
            if path:
                current = root / path
                assert current.is_file(), f"{path} does not exist"
            if name:
                assert current is not None and f"def {name}(" in current.read_text(encoding="utf-8"), ref
                cited += 1
    assert cited >= 20
