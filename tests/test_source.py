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
