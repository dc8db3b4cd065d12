"""Figures the chapters share: loss curves, image strips, the latent plane and its grid.

Every function builds a :class:`matplotlib.figure.Figure` without touching pyplot's state
and returns it. In Jupyter a returned figure is shown once, inline; in a script or a test
nothing pops up and nothing leaks between calls. Save one with ``fig.savefig(path)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from aehelpers.data import CLASS_NAMES, IMAGE_SIZE, check_pixels

History = Any  # a keras.callbacks.History or a mapping of metric name -> per-epoch values


def show_figures_inline() -> None:
    """Let IPython display a returned :class:`Figure` as a PNG (a no-op outside IPython).

    Figures made without pyplot are not known to Jupyter's inline backend until pyplot
    is imported; registering the PNG formatter here makes ``fig`` as the last line of a
    cell show the picture, once.
    """
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import print_figure
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    formatter = shell.display_formatter.formatters["image/png"]
    formatter.for_type(Figure, lambda fig: print_figure(fig, "png", bbox_inches="tight"))


show_figures_inline()


def _history_dict(history: History) -> Mapping[str, Sequence[float]]:
    values = getattr(history, "history", history)
    if not isinstance(values, Mapping):
        raise TypeError(
            "Expected a keras History (what model.fit returns) or a dict of metric lists, "
            f"got {type(history).__name__}."
        )
    return values


def _dashed_line(ax: Any, value: float | None, label: str) -> None:
    if value is not None:
        ax.axhline(value, color="black", linestyle="--", linewidth=1, label=label)


def _label_axes(ax: Any, xlabel: str, ylabel: str, title: str) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()


def plot_history(
    history: History,
    metric: str = "loss",
    title: str | None = None,
    floor: float | None = None,
    log_scale: bool = False,
) -> Figure:
    """Plot one metric per epoch for training and, if present, validation.

    Args:
        history: what ``model.fit`` returned, or its ``.history`` dict.
        metric: the metric to draw; ``"val_" + metric`` is drawn beside it when recorded.
        title: figure title; defaults to the metric's name.
        floor: draw a dashed line at this value (for example the entropy floor).
        log_scale: draw the loss axis on a log scale.
    """
    values = _history_dict(history)
    if metric not in values:
        raise KeyError(f"No {metric!r} in the history; it has {sorted(values)}.")
    train = np.asarray(values[metric], dtype=float)
    epochs = np.arange(1, len(train) + 1)
    fig = Figure(figsize=(6, 3.6), layout="constrained")
    ax = fig.subplots()
    ax.plot(epochs, train, label="train", marker="o" if len(train) < 3 else None)
    if "val_" + metric in values:
        val = np.asarray(values["val_" + metric], dtype=float)
        ax.plot(epochs, val, label="validation (test split)", marker="o" if len(val) < 3 else None)
    if floor is not None:
        ax.axhline(floor, color="black", linestyle="--", linewidth=1, label=f"floor {floor:.4f}")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric.replace("_", " "))
    if log_scale:
        ax.set_yscale("log")
    ax.set_title(title or metric.replace("_", " "))
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def plot_histories(
    histories: Mapping[str, History],
    metric: str = "val_loss",
    floor: float | None = None,
    title: str | None = None,
) -> Figure:
    """Plot one metric of several trainings on shared axes, optionally with a floor line.

    Args:
        histories: label -> History (or history dict).
        metric: the metric to compare, by default the validation loss.
        floor: draw a dashed horizontal line here (for example the entropy floor).
        title: figure title.
    """
    if not histories:
        raise ValueError("histories is empty: pass at least one label -> History.")
    fig = Figure(figsize=(6.5, 3.8), layout="constrained")
    ax = fig.subplots()
    for label, history in histories.items():
        values = _history_dict(history)
        if metric not in values:
            raise KeyError(f"No {metric!r} in the history of {label!r}; it has {sorted(values)}.")
        curve = np.asarray(values[metric], dtype=float)
        ax.plot(np.arange(1, len(curve) + 1), curve, label=label)
    _dashed_line(ax, floor, f"floor {floor:.4f}" if floor is not None else "")
    _label_axes(ax, "epoch", metric.replace("_", " "), title or metric.replace("_", " "))
    return fig


def _as_images(images: np.ndarray, name: str) -> np.ndarray:
    array = check_pixels(images, name)
    if array.ndim < 2 or int(np.prod(array.shape[1:])) != IMAGE_SIZE * IMAGE_SIZE:
        raise ValueError(
            f"{name} must be a batch of 28x28 images (shape (n, 784), (n, 28, 28) or "
            f"(n, 28, 28, 1)), got shape {array.shape}."
        )
    return array.reshape(-1, IMAGE_SIZE, IMAGE_SIZE)


def plot_image_rows(
    rows: Sequence[np.ndarray], row_labels: Sequence[str] | None = None, n: int = 10
) -> Figure:
    """Draw the first ``n`` images of each array as one row, rows stacked top to bottom.

    Args:
        rows: arrays of 28x28 images with pixels in [0, 1]; each needs at least ``n``.
        row_labels: one label per row, written at the left.
        n: images per row.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}.")
    if row_labels is not None and len(row_labels) != len(rows):
        raise ValueError(f"Got {len(rows)} rows but {len(row_labels)} row labels.")
    batches = [_as_images(row, f"row {i}") for i, row in enumerate(rows)]
    for i, batch in enumerate(batches):
        if len(batch) < n:
            raise ValueError(f"row {i} has {len(batch)} images, fewer than n={n}.")
    fig = Figure(figsize=(1.2 * n, 1.3 * len(batches)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(batches), n))
    for r, batch in enumerate(batches):
        for c in range(n):
            ax = axes[r, c]
            ax.imshow(batch[c], cmap="gray", vmin=0.0, vmax=1.0)
            ax.set_xticks([])
            ax.set_yticks([])
        if row_labels is not None:
            axes[r, 0].set_ylabel(row_labels[r], fontsize=9)
    return fig


def plot_reconstructions(
    originals: np.ndarray,
    reconstructions: np.ndarray | None = None,
    n: int = 10,
    labels: tuple[str, str] = ("input", "output"),
) -> Figure:
    """Inputs on the top row and, when given, the model's outputs below them.

    Args:
        originals: images fed to the model (pixels in [0, 1]).
        reconstructions: what the model made of them, same number of images or more.
        n: how many pairs to show.
        labels: the two row labels.
    """
    if reconstructions is None:
        return plot_image_rows([originals], [labels[0]], n)
    return plot_image_rows([originals, reconstructions], list(labels), n)


def _check_codes(codes: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    codes = np.asarray(codes)
    labels = np.asarray(labels)
    if codes.ndim != 2 or codes.shape[1] != 2:
        raise ValueError(f"codes must have shape (n, 2), got {codes.shape}.")
    if labels.shape != (len(codes),):
        raise ValueError(f"labels must have shape ({len(codes)},), got {labels.shape}.")
    return codes, labels


def _scatter_codes(ax: Any, codes: np.ndarray, labels: np.ndarray, class_names: Sequence[str]) -> None:
    if len(labels) and (labels.min() < 0 or labels.max() >= len(class_names)):
        raise ValueError(
            f"labels run from {labels.min()} to {labels.max()}, but there are {len(class_names)} class "
            "names: labels must be class indices 0..len(class_names)-1 (pass class_names to match)."
        )
    cmap = matplotlib.colormaps["tab10"]
    for k, name in enumerate(class_names):
        mask = labels == k
        ax.scatter(codes[mask, 0], codes[mask, 1], s=2, color=cmap(k % 10), label=name)


def plot_latent_space(
    codes: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str] = CLASS_NAMES,
    title: str = "test set in the latent plane",
) -> Figure:
    """Scatter 2-D codes coloured by class, with the class names in the legend.

    Args:
        codes: array of shape ``(n, 2)``, for example the encoder's ``z_mean``.
        labels: integer class of each code, shape ``(n,)``.
        class_names: name of each class index.
        title: figure title.
    """
    codes, labels = _check_codes(codes, labels)
    fig = Figure(figsize=(7, 6), layout="constrained")
    ax = fig.subplots()
    _scatter_codes(ax, codes, labels, class_names)
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    ax.set_title(title)
    ax.legend(markerscale=5, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig


def plot_latent_spaces(
    panels: Mapping[str, np.ndarray], labels: np.ndarray, class_names: Sequence[str] = CLASS_NAMES
) -> Figure:
    """Several 2-D pictures of the same items side by side, coloured by class, one legend.

    Args:
        panels: panel title -> ``(n, 2)`` codes of the same ``n`` items (say, PCA's first
            two components and a VAE's latent means).
        labels: integer class of each item, shape ``(n,)``.
        class_names: name of each class index.
    """
    if not panels:
        raise ValueError("panels is empty: pass at least one title -> (n, 2) codes.")
    checked = {title: _check_codes(codes, labels)[0] for title, codes in panels.items()}
    labels = np.asarray(labels)
    fig = Figure(figsize=(4.2 * len(checked) + 1.6, 4.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(checked)))
    for ax, (title, codes) in zip(axes, checked.items()):
        _scatter_codes(ax, codes, labels, class_names)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[-1].legend(markerscale=5, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig


def latent_grid(n: int = 15, low: float = 0.005, high: float = 0.995) -> np.ndarray:
    """Return ``n * n`` points of the 2-D latent plane, spaced evenly in probability.

    The coordinates are the standard normal quantiles of ``linspace(low, high, n)``, so
    the grid covers the prior N(0, I) densely where it has mass. Row ``i`` of the grid
    (top to bottom) has ``z_2`` decreasing, column ``j`` has ``z_1`` increasing, so that
    the picture is oriented like the latent-plane scatter. Shape ``(n * n, 2)``.
    """
    from scipy.stats import norm

    if n < 1 or not 0.0 < low < high < 1.0:
        raise ValueError(f"Need n >= 1 and 0 < low < high < 1, got n={n}, low={low}, high={high}.")
    values = norm.ppf(np.linspace(low, high, n))
    z1, z2 = np.meshgrid(values, values[::-1])
    return np.stack([z1.ravel(), z2.ravel()], axis=1).astype("float32")


def plot_latent_grid(
    decode: Callable[[np.ndarray], np.ndarray], n: int = 15, title: str = "decoded latent grid"
) -> Figure:
    """Decode the :func:`latent_grid` in one batch and tile the images into one picture.

    Args:
        decode: maps an array of shape ``(n * n, 2)`` to ``n * n`` images in [0, 1],
            for example ``lambda z: decoder.predict(z, verbose=0)``.
        n: grid size per side.
        title: figure title.
    """
    points = latent_grid(n)
    images = _as_images(np.asarray(decode(points)), "decoded images")
    if len(images) != n * n:
        raise ValueError(f"decode returned {len(images)} images for {n * n} points.")
    tiled = images.reshape(n, n, IMAGE_SIZE, IMAGE_SIZE).transpose(0, 2, 1, 3)
    tiled = tiled.reshape(n * IMAGE_SIZE, n * IMAGE_SIZE)
    fig = Figure(figsize=(7, 7), layout="constrained")
    ax = fig.subplots()
    ax.imshow(tiled, cmap="gray", vmin=0.0, vmax=1.0)
    # The grid is evenly spaced in probability, not in z: label each tile by its own z.
    centres = (np.arange(n) + 0.5) * IMAGE_SIZE
    shown = np.arange(0, n, 2 if n > 8 else 1)
    ax.set_xticks(centres[shown], [f"{v:.2f}" for v in points[:n, 0][shown]], rotation=90)
    ax.set_yticks(centres[shown], [f"{v:.2f}" for v in points[::n, 1][shown]])
    ax.set_xlabel("$z_1$ (tile centres)")
    ax.set_ylabel("$z_2$ (tile centres)")
    ax.set_title(title)
    return fig


def plot_architecture(model: Any, dpi: int = 64) -> Any:
    """Draw a model's graph of layers with their output shapes, as an inline PNG image.

    A thin wrapper of ``keras.utils.plot_model`` that writes to a temporary file (not
    ``model.png`` in the working directory) and fails loudly when Graphviz is missing,
    where Keras would only print a message in a notebook.

    Raises:
        RuntimeError: if IPython, ``pydot`` or Graphviz's ``dot`` program is not installed.
    """
    import importlib.util
    import shutil
    import tempfile
    from pathlib import Path

    import keras

    try:
        from IPython.display import Image
    except ImportError as error:
        raise RuntimeError(
            "plot_architecture returns an image for notebooks and needs IPython: pip install ipython "
            "(Jupyter and Colab have it)."
        ) from error
    if importlib.util.find_spec("pydot") is None or shutil.which("dot") is None:
        raise RuntimeError(
            "Drawing a model needs the pydot package and Graphviz's dot program: "
            "pip install pydot, and apt-get install graphviz (or brew install graphviz)."
        )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.png"
        keras.utils.plot_model(model, to_file=str(path), show_shapes=True, show_layer_names=True, dpi=dpi)
        return Image(data=path.read_bytes())
