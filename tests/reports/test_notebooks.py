"""Every notebook in notebooks/ runs top to bottom on a published scale-0.01 warehouse
(nbclient, a kernel on this venv's interpreter), and is committed without outputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
EXPECTED = {"client_segments.ipynb", "churn_drivers.ipynb", "forecast_review.ipynb"}
KERNEL = "crmw-venv"


def test_the_three_exploration_notebooks_are_there():
    assert {p.name for p in NOTEBOOKS} >= EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebook_is_committed_without_outputs(path):
    book = nbformat.read(path, as_version=4)
    dirty = [
        i for i, c in enumerate(book.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)
    ]
    assert dirty == [], f"{path.name}: cells {dirty} carry outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebook_imports_the_package_instead_of_defining_functions(path):
    book = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in book.cells if c.cell_type == "code")
    assert "from reports import notebooks as nh" in code
    assert "\ndef " not in f"\n{code}"


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory, monkeypatch_module):
    """A kernel spec on this interpreter (the venv's), found through JUPYTER_PATH."""
    root = tmp_path_factory.mktemp("jupyter")
    spec_dir = root / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "crm-warehouse venv",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch_module.setenv("JUPYTER_PATH", str(root))
    return KERNEL


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def demo_home(published_demo, monkeypatch_module):
    settings = published_demo
    monkeypatch_module.setenv("CRMW_HOME", str(settings.home))
    return settings


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebook_runs_top_to_bottom_on_the_demo_warehouse(path, demo_home, kernel_env, tmp_path):
    book = nbformat.read(path, as_version=4)
    client = NotebookClient(
        book,
        kernel_name=kernel_env,
        timeout=300,
        resources={"metadata": {"path": str(NOTEBOOKS_DIR)}},
    )
    client.execute()  # raises CellExecutionError naming the cell that failed
    outputs = [o for c in book.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert str(demo_home.published_path) in text  # it read the demo warehouse, not another
    nbformat.write(book, tmp_path / path.name)  # the executed copy, for a look when debugging
