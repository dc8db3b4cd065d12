import importlib
from pathlib import Path

import jupytext
import nbformat
import pytest

from aehelpers.source import show_source
from aehelpers.vae import Sampling


def test_show_source_shows_the_code_that_runs():
    shown = show_source(Sampling)
    assert shown.data.startswith("@keras.saving.register_keras_serializable") and "class Sampling" in shown.data
    html = shown._repr_html_()  # highlighted: every word in a span of its own
    assert "<pre" in html and "Sampling" in html


def test_show_source_refuses_what_has_no_python_source():
    with pytest.raises(TypeError, match="class or function defined in a Python file"):
        show_source(len)


# The code each chapter is about, shown from the package that runs it (one cell each).
SHOWN = {
    "07-variational-autoencoder": ["reconstruction_loss", "kl_divergence", "Sampling", "VAE.call", "VAE.compute_loss"],
    "14-discrete-codes": ["VectorQuantizer", "MaskedConv2D"],
    "15-masked-autoencoders": ["RandomMasking", "MaskedAutoencoder"],
    "16-sparse-autoencoders": ["TopK"],
}


@pytest.mark.parametrize("chapter, name", [(c, n) for c, names in SHOWN.items() for n in names])
def test_the_chapter_shows_the_code_it_is_about(chapter, name):
    text = Path(__file__).resolve().parent.parent / "notebooks" / f"{chapter}.md"
    code = [cell.source.strip() for cell in jupytext.read(text).cells if cell.cell_type == "code"]
    assert f"ae.show_source({name})" in code, (
        f"{text.name} should show the source of {name} in a cell of its own: ae.show_source({name})")


def _defined(name):
    """The object ``name`` (``"Sampling"``, ``"VAE.call"``) from the aehelpers module that defines it."""
    head, *rest = name.split(".")
    for module in ("vae", "vq", "mae", "sae"):
        found = getattr(importlib.import_module(f"aehelpers.{module}"), head, None)
        if found is not None:
            for part in rest:
                found = getattr(found, part)
            return found
    raise LookupError(f"{head} is in none of the modules whose code a chapter shows")


@pytest.mark.parametrize("chapter, name", [(c, n) for c, names in SHOWN.items() for n in names])
def test_the_stored_page_shows_the_code_of_today(chapter, name):
    notebook = Path(__file__).resolve().parent.parent / "notebooks" / f"{chapter}.ipynb"
    cells = [c for c in nbformat.read(notebook, as_version=4).cells
             if c.cell_type == "code" and c.source.strip() == f"ae.show_source({name})"]
    assert cells, f"{notebook.name} has no cell ae.show_source({name})"
    shown = [o["data"]["text/plain"].rstrip("\n") for o in cells[0].outputs if "data" in o]
    assert shown == [show_source(_defined(name)).data.rstrip("\n")], (
        f"{notebook.name} shows an older {name} than aehelpers holds: the source changed after the "
        f"page was made. Make the page again: make pages CHAPTER={chapter}")
