"""Every chapter notebook has a MyST text twin holding the same cells, and stored outputs
made from the shipped models without errors: what the website shows."""

from pathlib import Path

import jupytext
import nbformat
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


def printed_text(path: Path) -> str:
    notebook = nbformat.read(path, as_version=4)
    return "\n".join(
        output.get("text", "") + output.get("data", {}).get("text/plain", "")
        for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_stored_page_shows_a_quick_run(path):
    assert "QUICK profile" not in printed_text(path), f"{path.name} holds quick-profile outputs: run make full CHAPTER={path.stem}"


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if "ae.load_reference(" in p.with_suffix(".md").read_text()],
                         ids=lambda p: p.stem)
def test_every_training_chapter_shows_the_books_trained_models(path):
    text = printed_text(path)
    assert "Loaded the book's trained" in text, f"{path.name} does not show the shipped models: run make pages CHAPTER={path.stem}"
    assert "is not shipped with the book" not in text, f"{path.name} trained a model that is not shipped: run make full CHAPTER={path.stem}"
    assert "reference profile:" in text  # save_results' line: the page wrote the book's record
