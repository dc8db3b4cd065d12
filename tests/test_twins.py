"""Every chapter notebook has a MyST text twin holding the same cells."""

from pathlib import Path

import jupytext
import pytest

NOTEBOOKS = sorted(Path(__file__).resolve().parents[1].glob("notebooks/[0-9][0-9]-*.ipynb"))
TEXTS = sorted(Path(__file__).resolve().parents[1].glob("notebooks/[0-9][0-9]-*.md"))


def cells(notebook):
    return [(c.cell_type, c.source.strip(), sorted(c.metadata.get("tags", []))) for c in notebook.cells]


def test_there_are_chapters_and_every_text_has_a_notebook():
    assert NOTEBOOKS, "no chapter notebooks found"
    assert [p.stem for p in TEXTS] == [p.stem for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_text_twin_holds_the_same_cells(path):
    twin = path.with_suffix(".md")
    assert twin.is_file(), f"{path.name} has no text twin; run `make sync`"
    assert cells(jupytext.read(twin)) == cells(jupytext.read(path)), (
        f"{path.name} and {twin.name} differ; edit the .md and run `make sync`"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_paired_and_has_no_errors(path):
    notebook = jupytext.read(path)
    assert notebook.metadata.get("jupytext", {}).get("formats") == "ipynb,md:myst"
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error", f"{path.name} stores an error output"
