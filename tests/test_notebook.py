"""The companion notebook: notebooks/lecture-13.py (jupytext py:percent) is the source, lecture-13.ipynb is
generated from it and committed without outputs; the notebook runs top to bottom, shrunk."""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SOURCE, NOTEBOOK = NOTEBOOKS / "lecture-13.py", NOTEBOOKS / "lecture-13.ipynb"
REGENERATE = ".venv/bin/jupytext --to ipynb notebooks/lecture-13.py"


def test_committed_notebook_has_no_outputs():
    """Outputs (images, tracebacks, counts) would make every diff of the .ipynb unreadable."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"cells {dirty} of {NOTEBOOK.name} hold outputs: regenerate it with `{REGENERATE}`"


def test_notebook_equals_its_source():
    """The .ipynb and the .py hold the same cells, so the reviewed text is what students open."""
    cells = [[(c.cell_type, c.source) for c in jupytext.read(path).cells] for path in (SOURCE, NOTEBOOK)]
    assert cells[0] == cells[1], f"{NOTEBOOK.name} differs from {SOURCE.name}: regenerate it with `{REGENERATE}`"


@pytest.mark.slow
def test_notebook_runs(tmp_path, data_dir, monkeypatch):
    """Every cell runs without an error, shrunk (CNNEXP_NOTEBOOK_QUICK), in a kernel of this test's Python."""
    from nbclient import NotebookClient

    monkeypatch.setenv("CNNEXP_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("CNNEXP_DATA_DIR", str(data_dir))
    monkeypatch.setenv("CNNEXP_NOTEBOOK_OUT", str(tmp_path / "out"))
    # No claims report there: the notebook trains its own small APS and p4 nets, whatever outputs/ holds.
    monkeypatch.setenv("CNNEXP_CLAIMS_DIR", str(tmp_path / "claims"))
    before = sorted(NOTEBOOKS.iterdir())
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.executable)"))
    # Raises CellExecutionError, with the failing cell and its traceback, on the first error.
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    kernel_python = nb.cells[-1].outputs[0]["text"].strip()
    assert Path(kernel_python).resolve() == Path(sys.executable).resolve()
    assert sorted(NOTEBOOKS.iterdir()) == before  # its trainings went to CNNEXP_NOTEBOOK_OUT, nothing beside it
