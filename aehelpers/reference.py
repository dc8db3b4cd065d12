"""The book's trained models: shipped in ``models/``, loaded by the chapters.

Every model a page shows was trained once with the full recipe and saved in ``models/``
as a Keras file without optimizer state (``<name>.keras``), beside its epoch log
(``<name>.history.json``). ``models/manifest.json`` lists both with their SHA-256, the
model's parameters, the chapter and run it came from and its test-split figure.

A chapter builds its model (that is the lesson) and then::

    history = ae.load_reference(model, "01-basic-autoencoder")
    if history is None:
        history = model.fit(..., callbacks=ae.resumable("01-basic-autoencoder"))

A later chapter that only uses an earlier chapter's model loads it, frozen, with
:func:`reference_model`.

In the reference profile (the default) :func:`load_reference` copies the shipped weights
into the model and returns the reference run's history; in the full and quick profiles it
returns None and the chapter trains. Under ``make full`` (``AE_SHIP=1``) a full run ships
its model when it finishes (:class:`ShipModel`, added by :func:`aehelpers.resumable`).

Where the repository's files are absent (Colab, a pip install of ``aehelpers``), the
files are downloaded from the manifest's ``base_url`` (``AE_MODELS_URL`` overrides it)
with :func:`keras.utils.get_file`. Local or downloaded, every file is checked against its
SHA-256 before it is used.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import keras

from aehelpers.profile import current_profile
from aehelpers.records import project_root, relative_to_root, write_json
from aehelpers import mae, sae, vq  # noqa: F401  (register their layers: shipped models load in safe mode)
from aehelpers.vae import VAE  # registered: shipped VAEs load in safe mode
from aehelpers.training import EpochLog, history_from_log, layer_settings, run_dir

MANIFEST = "manifest.json"
MODELS_DIR_VARIABLE = "AE_MODELS_DIR"
MODELS_URL_VARIABLE = "AE_MODELS_URL"
MODELS_CACHE_VARIABLE = "AE_MODELS_CACHE"  # where downloads go; Keras' cache (~/.keras) if unset
CACHE_SUBDIR = "aehelpers-models"


class ReferenceModelError(RuntimeError):
    """A shipped model is missing, damaged, or does not fit the model built in the chapter."""


def models_dir() -> Path:
    """The folder of the shipped models and their manifest.

    ``AE_MODELS_DIR`` if set; else ``models/`` of the repository this package sits in; else
    the copy of the manifest inside an installed package (the models are then downloaded).
    """
    if os.environ.get(MODELS_DIR_VARIABLE):
        return Path(os.environ[MODELS_DIR_VARIABLE])
    package = Path(__file__).resolve().parent
    in_repository = (package.parent / "_toc.yml").is_file()
    return package.parent / "models" if in_repository else package / "models"


def manifest() -> dict[str, Any]:
    """The manifest: ``{"base_url": ..., "models": {name: entry}}``.

    Raises:
        ReferenceModelError: the manifest is missing or unreadable (an ``AE_MODELS_DIR``
            that names the wrong folder, say): chapters would otherwise train everything.
    """
    path = models_dir() / MANIFEST
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ReferenceModelError(
            f"The list of the book's models, {path}, cannot be read ({type(error).__name__}: {error}). "
            f"Check {MODELS_DIR_VARIABLE} if you set it, or restore the file (git checkout -- models/{MANIFEST})."
        ) from error


def sha256_of_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def how_to_train(name: str) -> str:
    """The one setting that trains a model instead of loading it."""
    return (f"to train {name} yourself instead, set AE_PROFILE=full (in Jupyter: run "
            "`%env AE_PROFILE=full` before the chapter's first cell; from the repository: "
            f"`make full CHAPTER={name[:2]}-*`)")


def _entry(name: str) -> dict[str, Any] | None:
    return manifest()["models"].get(name)


def shipped_file(name: str, kind: str = "file") -> Path:
    """Return a checked local path to a shipped model's file (``kind``: ``file`` or ``history``).

    The repository's copy is used when there is one; otherwise the file is downloaded once
    into Keras' cache.

    Raises:
        ReferenceModelError: the model is not in the manifest, or its file is missing,
            truncated or altered (its SHA-256 differs from the manifest's), or cannot be
            downloaded. The message names the file and says how to train the model instead.
    """
    entry = _entry(name)
    if entry is None:
        raise ReferenceModelError(f"{name} is not in {models_dir() / MANIFEST}; {how_to_train(name)}.")
    filename, expected = entry[kind], entry[f"{kind}_sha256" if kind != "file" else "sha256"]
    local = models_dir() / filename
    if local.is_file():
        if sha256_of_file(local) != expected:
            raise ReferenceModelError(
                f"{local} is not the file the manifest lists (its SHA-256 differs: it was changed "
                f"or cut short). Restore it (git checkout -- models/{filename}), or {how_to_train(name)}."
            )
        return local
    base = os.environ.get(MODELS_URL_VARIABLE) or manifest().get("base_url")
    if not base:
        raise ReferenceModelError(f"{local} is missing and no download address is set; {how_to_train(name)}.")
    url = base.rstrip("/") + "/" + filename
    cache = os.environ.get(MODELS_CACHE_VARIABLE)
    if cache:
        Path(cache).mkdir(parents=True, exist_ok=True)  # Keras falls back to /tmp for a folder it cannot write
    try:
        path = keras.utils.get_file(filename, origin=url, file_hash=expected, hash_algorithm="sha256",
                                    cache_subdir=CACHE_SUBDIR, cache_dir=cache)
    except Exception as error:  # a network error, an HTTP error or a checksum mismatch
        raise ReferenceModelError(
            f"Could not get the reference file {filename} from {url} ({type(error).__name__}: "
            f"{error}). Check the connection and run the cell again; if the file arrived but its "
            "SHA-256 differs, the book's models were updated since this copy of aehelpers was "
            f"installed: install it again. Or {how_to_train(name)}."
        ) from error
    return Path(path)


def _structure(model: keras.Model) -> list[tuple[str, list[tuple[int, ...]]]]:
    """Layer kinds and weight shapes, nested models opened up: what must match to load."""
    rows: list[tuple[str, list[tuple[int, ...]]]] = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            rows += _structure(layer)
        elif layer.weights:
            rows.append((type(layer).__name__, [tuple(w.shape) for w in layer.weights]))
    return rows


def _settings(model: keras.Model) -> list[tuple[str, Any]]:
    """What a model was built with, as (where, value) rows: its own settings (a VAE's beta
    and seed), then each layer's configuration (activation, penalty, rate, ...)."""
    own = {}
    if not type(model).__module__.startswith("keras."):  # a Functional model's config is its graph
        own = {k: v for k, v in model.get_config().items()
               if k not in ("name", "trainable", "dtype") and not (isinstance(v, dict) and "class_name" in v)}
    rows: list[tuple[str, Any]] = [(f"{type(model).__name__} {k}", v) for k, v in sorted(own.items())]

    def layer_rows(settings: list[Any], where: str) -> None:
        for index, (kind, value) in enumerate(settings):
            if isinstance(value, list):
                layer_rows(value, f"{where}{kind} {index} > ")
            else:
                rows.extend((f"{where}{kind} {index}: {k}", v) for k, v in sorted(value.items()))

    layer_rows(layer_settings(model), "")
    return rows


def _first_difference(model: keras.Model, shipped: keras.Model) -> str | None:
    """Where ``model`` was built otherwise than ``shipped``, in words; None when nothing differs."""
    mine, theirs = _settings(model), _settings(shipped)
    for (where, value), (shipped_where, shipped_value) in zip(mine, theirs):
        if where != shipped_where:
            return f"{where} here, {shipped_where} in the shipped model"
        if value != shipped_value:
            return f"{where} is {value!r} here, {shipped_value!r} in the shipped model"
    return None if len(mine) == len(theirs) else "the number of settings differs"


def shipped_log(name: str) -> list[dict[str, float]] | None:
    """The shipped epoch log of a model (metrics and seconds per epoch), or None if not shipped."""
    return json.loads(shipped_file(name, "history").read_text()) if _entry(name) else None


def shipped_trained_on(name: str) -> list[dict[str, Any]] | None:
    """The training sessions of a shipped model (device, backend, epochs, date), or None."""
    entry = _entry(name)
    return entry.get("trained_on") if entry else None


def load_reference(model: keras.Model, name: str) -> keras.callbacks.History | None:
    """Copy the shipped weights of ``name`` into ``model`` and return the reference run's history.

    Returns None, and the chapter trains, in the full and quick profiles and when ``name``
    is not shipped. Prints one line saying what it did.

    Raises:
        ReferenceModelError: the shipped file is missing, damaged or does not fit ``model``
            (for example after an edit of the architecture): never a silent retrain.
    """
    profile = current_profile()
    if profile == "quick":
        print(f"QUICK profile: {name} trains for one epoch on a slice of the data; the numbers "
              "and pictures below are a test run's, not the book's.")
        return None
    if profile == "full":
        return None
    entry = _entry(name)
    if entry is None:
        print(f"{name} is not shipped with the book: training it with the full recipe.")
        return None
    shipped = keras.saving.load_model(shipped_file(name), safe_mode=True, compile=False)
    if _structure(shipped) != _structure(model):
        raise ReferenceModelError(
            f"The shipped {name} ({entry['file']}) does not fit the model built above: their "
            f"layers or weight shapes differ. If you changed the model, {how_to_train(name)}."
        )
    difference = _first_difference(model, shipped)
    if difference:
        raise ReferenceModelError(
            f"The shipped {name} ({entry['file']}) was trained with other settings than the "
            f"model built above: {difference}. Its weights would not show what this model "
            f"learns; {how_to_train(name)}."
        )
    model.set_weights(shipped.get_weights())
    history = reference_history(name)
    history.set_model(model)
    print(f"Loaded the book's trained {name} ({entry['weights']}); the curves below are its "
          f"training run's. To train it yourself, set AE_PROFILE=full.")
    return history


def reference_model(name: str) -> keras.Model:
    """Load the book's trained ``name`` as a new, frozen and uncompiled model, in every profile.

    Later chapters use it to work with an earlier chapter's model without training it
    again, so that the book shows one set of numbers per model.

    Raises:
        ReferenceModelError: ``name`` is not shipped, or its file is missing or damaged.
    """
    model = keras.saving.load_model(shipped_file(name), safe_mode=True, compile=False)
    model.trainable = False
    print(f"Loaded the book's trained {name} (from {_entry(name)['chapter']}).")
    return model


def reference_history(name: str) -> keras.callbacks.History:
    """The training history of the book's ``name`` (what ``fit`` returned when it was trained)."""
    history = keras.callbacks.History()
    entries = shipped_log(name)
    if entries is None:
        raise ReferenceModelError(f"{name} is not in {models_dir() / MANIFEST}; {how_to_train(name)}.")
    history.history, history.epoch = history_from_log(entries), list(range(len(entries)))
    return history


def _test_figure(model: keras.Model, entries: list[dict[str, float]], epoch: int, monitor: str) -> dict[str, Any]:
    """The figure :func:`load_reference`'s users can check: the monitored validation value of
    the shipped epoch; for a VAE, whose validation pass samples, a fresh one-sample test loss
    (the negative ELBO, or reconstruction + beta * KL for a beta-VAE)."""
    from aehelpers.data import load_fashion_mnist

    if not isinstance(model, VAE):
        metric = monitor if monitor in entries[epoch] else "loss"  # a run without validation
        return {"metric": metric, "value": entries[epoch][metric], "epoch": epoch + 1}
    (_, _), (x_test, _) = load_fashion_mnist("image" if len(model.encoder.input_shape) == 4 else "flat")
    model.compile()
    value = model.evaluate(x_test, batch_size=128, verbose=0, return_dict=True)["loss"]
    return {"metric": f"{vae_loss_name(model.beta)}, one sample per image, batch 128, Sampling seed as saved",
            "value": float(value)}


def vae_loss_name(beta: float) -> str:
    """What a VAE's test figure measures: the negative ELBO when beta is 1, else its training loss."""
    return "test -ELBO" if beta == 1 else f"test reconstruction + {beta:g} x KL (the beta-VAE's loss)"


def ship(model: keras.Model, name: str, folder: Path, best_weights: bool, monitor: str) -> dict[str, Any]:
    """Save a finished run's model to ``models/<name>.keras`` with its log, and list both in the manifest.

    The saved model is an uncompiled copy (no optimizer state), holding the best epoch's
    weights when the run kept them.
    """
    entries = json.loads((folder / "history.json").read_text())
    config = keras.saving.serialize_keras_object(model)
    config.pop("compile_config", None)  # uncompiled: the file holds no optimizer state
    copy = keras.saving.deserialize_keras_object(config)
    copy.set_weights(model.get_weights())
    epoch = len(entries) - 1
    if best_weights:
        copy.load_weights(folder / "best.weights.h5")
        epoch = min(range(len(entries)), key=lambda e: entries[e].get(monitor, float("inf")))
    target = models_dir()
    target.mkdir(parents=True, exist_ok=True)
    model_file, log_file = target / f"{name}.keras", target / f"{name}.history.json"
    # Written under other names first and renamed, manifest last: a kill leaves the old
    # model, or the new one not yet listed, never a listed file with another checksum.
    partial = target / f"{name}.partial.keras"
    copy.save(partial)
    write_json(log_file.with_suffix(".partial"), entries)
    stored = keras.saving.load_model(partial, safe_mode=True, compile=False)
    sessions = folder / "trained_on.json"
    chapter = next((p.stem for p in (project_root() / "notebooks").glob(f"{name[:2]}-*.ipynb")), name)
    entry = {
        "file": model_file.name,
        "sha256": sha256_of_file(partial),
        "bytes": partial.stat().st_size,
        "history": log_file.name,
        "history_sha256": sha256_of_file(log_file.with_suffix(".partial")),
        "parameters": copy.count_params(),
        "chapter": chapter,
        "run": relative_to_root(folder),
        "epochs": len(entries),
        "weights": f"best epoch, {epoch + 1} of {len(entries)}" if best_weights else f"after {len(entries)} epochs",
        "test_figure": _test_figure(stored, entries, epoch, monitor),
        "trained_on": json.loads(sessions.read_text()) if sessions.is_file() else None,
    }
    book = manifest() if (target / MANIFEST).is_file() else {"base_url": None, "models": {}}
    book["models"][name] = entry
    book["models"] = dict(sorted(book["models"].items()))
    partial.replace(model_file)
    log_file.with_suffix(".partial").replace(log_file)
    write_json(target / MANIFEST, book)
    print(f"shipped {name}: {_size(entry['bytes'])}, {entry['parameters']:,} parameters, "
          f"{entry['test_figure']['metric']} {entry['test_figure']['value']:.4f}")
    return entry


def _size(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


class ShipModel(keras.callbacks.Callback):
    """Full profile: ship the model when a run that trained in this session ends."""

    def __init__(self, name: str, log: EpochLog, best_weights: bool, monitor: str) -> None:
        super().__init__()
        self.name, self.log, self.best_weights, self.monitor = name, log, best_weights, monitor

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        entry = _entry(self.name) if (models_dir() / MANIFEST).is_file() else None
        shipped = entry and (models_dir() / entry["history"]).is_file() and \
            json.loads((models_dir() / entry["history"]).read_text()) == self.log.entries
        if self.log.trained or not shipped:  # a restored run is shipped once
            ship(self.model, self.name, run_dir(self.name), self.best_weights, self.monitor)
