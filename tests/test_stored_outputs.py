"""What the website shows: every training chapter's stored outputs come from a full run."""

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(ROOT.glob("notebooks/[0-9][0-9]-*.ipynb"))


def printed_text(path: Path) -> str:
    notebook = nbformat.read(path, as_version=4)
    return "\n".join(
        output.get("text", "") + output.get("data", {}).get("text/plain", "")
        for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_stored_page_shows_a_quick_run(path):
    assert "QUICK profile" not in printed_text(path), f"{path.name} holds quick-profile outputs: run make full CHAPTER={path.stem}"


@pytest.mark.parametrize("path", [p for p in CHAPTERS if "ae.epochs(" in p.with_suffix(".md").read_text()], ids=lambda p: p.stem)
def test_every_training_chapter_was_executed_in_the_full_profile(path):
    text = printed_text(path)
    assert "full profile:" in text or "profile: full" in text, f"{path.name} has no stored full-profile run: run make full CHAPTER={path.stem}"
