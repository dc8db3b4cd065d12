import numpy as np
import pytest
from matplotlib.figure import Figure

from aehelpers.plotting import (
    latent_grid,
    plot_histories,
    plot_history,
    plot_image_rows,
    plot_latent_grid,
    plot_latent_space,
    plot_reconstructions,
    show_figures_inline,
)

HISTORY = {"loss": [0.4, 0.3, 0.29], "val_loss": [0.35, 0.31, 0.30]}


class FakeHistory:
    history = HISTORY


def test_history_draws_train_and_validation():
    fig = plot_history(FakeHistory(), title="t")
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert [line.get_label() for line in ax.lines] == ["train", "validation (test split)"]
    np.testing.assert_allclose(ax.lines[1].get_ydata(), HISTORY["val_loss"])
    assert ax.get_title() == "t"


def test_history_without_validation_draws_one_line():
    fig = plot_history({"loss": [1.0, 0.5]})
    assert len(fig.axes[0].lines) == 1


def test_history_errors():
    with pytest.raises(KeyError, match="kl_loss"):
        plot_history(HISTORY, metric="kl_loss")
    with pytest.raises(TypeError, match="History"):
        plot_history([0.1, 0.2])


def test_histories_share_axes_and_draw_the_floor():
    fig = plot_histories({"a": HISTORY, "b": FakeHistory()}, floor=0.25)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["a", "b", "floor 0.2500"]
    with pytest.raises(ValueError, match="empty"):
        plot_histories({})
    with pytest.raises(KeyError, match="'b'"):
        plot_histories({"b": {"loss": [1.0]}})


def test_reconstruction_strip_has_two_rows(images):
    fig = plot_reconstructions(images, images[::-1], n=5)
    assert len(fig.axes) == 10
    assert fig.axes[0].get_ylabel() == "input" and fig.axes[5].get_ylabel() == "output"
    np.testing.assert_allclose(fig.axes[5].images[0].get_array(), images[-1].reshape(28, 28))


def test_reconstruction_strip_without_outputs_and_a_labelled_row(images):
    assert len(plot_reconstructions(images, n=4).axes) == 4
    fig = plot_image_rows([images.reshape(-1, 28, 28, 1)], ["noisy input"], n=3)  # as the denoising chapter
    assert len(fig.axes) == 3 and fig.axes[0].get_ylabel() == "noisy input"


def test_image_rows_reject_bad_input(images):
    with pytest.raises(ValueError, match="28x28"):
        plot_image_rows([np.zeros((3, 100))])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        plot_image_rows([images * 255])
    with pytest.raises(ValueError, match="fewer than n=20"):
        plot_image_rows([images], n=20)
    with pytest.raises(ValueError, match="row labels"):
        plot_image_rows([images], ["a", "b"])
    with pytest.raises(ValueError, match="at least 1"):
        plot_image_rows([images], n=0)


def test_latent_space_has_a_legend_entry_per_class():
    codes = np.random.default_rng(0).normal(size=(50, 2))
    labels = np.arange(50) % 10
    fig = plot_latent_space(codes, labels)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert texts[0] == "T-shirt/top" and texts[-1] == "Ankle boot" and len(texts) == 10
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        plot_latent_space(np.zeros((5, 3)), np.zeros(5))
    with pytest.raises(ValueError, match="labels"):
        plot_latent_space(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="labels run from 1 to 10, but there are 10 class names"):
        plot_latent_space(codes[:10], np.arange(1, 11))  # 1-based labels would lose a class


def test_latent_grid_covers_the_gaussian_quantiles():
    points = latent_grid(15)
    assert points.shape == (225, 2)
    assert points[0, 0] == pytest.approx(-2.5758, abs=1e-3)  # norm.ppf(0.005)
    assert points[0, 1] == pytest.approx(2.5758, abs=1e-3)  # top row: largest z_2
    assert points[14, 0] == pytest.approx(2.5758, abs=1e-3)
    assert points[112] == pytest.approx([0.0, 0.0], abs=1e-6)  # centre of the grid
    with pytest.raises(ValueError):
        latent_grid(5, low=0.0)


def test_latent_grid_plot_decodes_in_one_batch():
    calls = []

    def decode(z):
        calls.append(z.shape)
        return np.tile((z[:, :1] > 0).astype("float32"), (1, 784))

    fig = plot_latent_grid(decode, n=4)
    assert calls == [(16, 2)]
    tiled = fig.axes[0].images[0].get_array()
    assert tiled.shape == (112, 112)
    assert tiled[:, :56].max() == 0.0 and tiled[:, 56:].min() == 1.0  # z_1 grows to the right
    with pytest.raises(ValueError, match="returned 1 images"):
        plot_latent_grid(lambda z: np.zeros((1, 784)), n=4)


def test_show_figures_inline_is_harmless_outside_ipython():
    show_figures_inline()


def test_architecture_diagram_is_a_png_or_a_clear_error(monkeypatch):
    import shutil

    import keras

    from aehelpers.plotting import plot_architecture

    x = keras.Input((784,))
    model = keras.Model(x, keras.layers.Dense(784)(keras.layers.Dense(32)(x)))
    if shutil.which("dot"):
        image = plot_architecture(model)
        assert image.data[:8] == b"\x89PNG\r\n\x1a\n" and len(image.data) > 1000
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="graphviz"):
        plot_architecture(model)


def test_latent_spaces_side_by_side_share_one_legend():
    from aehelpers.plotting import plot_latent_spaces

    rng = np.random.default_rng(0)
    labels = np.arange(100) % 10
    fig = plot_latent_spaces({"PCA": rng.normal(size=(100, 2)), "VAE": rng.normal(size=(100, 2))}, labels)
    assert [ax.get_title() for ax in fig.axes] == ["PCA", "VAE"]
    assert fig.axes[0].get_legend() is None and fig.axes[1].get_legend() is not None
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        plot_latent_spaces({"3-D": rng.normal(size=(100, 3))}, labels)
