"""The guided tour in examples/ runs from top to bottom, headless, so it cannot rot."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "theory_lab.ipynb"


def test_theory_lab_notebook_executes(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "max |D - D*|" in text and "modes covered" in text
    assert "JSD(P||Q)" in text and "remedy pack4-std:" in text
    assert "importance-weighted log-likelihood" in text and text.count("AUROC") == 2
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 9
