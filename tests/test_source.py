from pathlib import Path

import jupytext
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
