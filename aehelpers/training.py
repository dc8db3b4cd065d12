"""Training that survives interruption, and the record each chapter leaves behind.

A chapter that trains calls ``model.fit(..., callbacks=ae.resumable(name))``. The run
keeps its files in ``runs/<full|quick>/<name>/`` (ignored by git):

* ``backup/``: Keras' :class:`~keras.callbacks.BackupAndRestore` state after every epoch.
  Run the cell again after a crash and training resumes after the last completed epoch;
  a finished run is restored, not retrained (delete its folder to train again);
* ``history.json``: every epoch's metrics and seconds, so the returned ``History``
  covers the whole run even when it was resumed;
* ``trained_on.json``: which device, backend and Keras trained which epochs, and when;
* ``run.json``: the model and optimizer it belongs to: a changed model is never resumed
  from another's backup;
* ``best.weights.h5`` (with ``best_weights=True``): the epoch with the lowest validation loss.

Under ``make full`` (the full profile with ``AE_SHIP=1``) the finished model also
replaces the book's in ``models/`` (:mod:`aehelpers.reference`); a reader's own full run
stays in its run folder. :mod:`aehelpers.records` keeps the numbers of each chapter.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras

from aehelpers.flops import cpu_peak_gflops
from aehelpers.profile import current_profile
from aehelpers.records import device_description, project_root, write_json

RUNS_DIR_VARIABLE = "AE_RUNS_DIR"
SHIP_VARIABLE = "AE_SHIP"  # "1": a finished full run replaces the book's model in models/ (make full sets it)


def run_dir(name: str) -> Path:
    """Return (and create) ``<AE_RUNS_DIR or <root>/runs>/<full|quick>/<name>``.

    The reference profile trains a model that is not shipped with the full recipe, so it
    shares the full profile's folders; a quick run never touches them.
    """
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"name must be a plain name such as '01-basic-autoencoder', got {name!r}.")
    base = Path(os.environ.get(RUNS_DIR_VARIABLE) or project_root() / "runs")
    folder = base / ("quick" if current_profile() == "quick" else "full") / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _without_names(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_names(v) for k, v in value.items() if k != "name"}
    if isinstance(value, (list, tuple)):
        return [_without_names(v) for v in value]
    return value


def layer_settings(model: keras.Model) -> list[Any]:
    """Each layer's kind and configuration, nested models opened up, names left out."""
    return [[type(layer).__name__, layer_settings(layer) if isinstance(layer, keras.Model)
             else _without_names(layer.get_config())] for layer in model.layers]


def fingerprint(model: keras.Model, steps: int | None) -> dict[str, Any]:
    """What a backup can only be resumed into: layer kinds, weight shapes and settings
    (names left out: Keras numbers them by creation order), the loss, the optimizer and
    the steps per epoch."""

    compiled = getattr(model, "optimizer", None)
    optimizer = {k: v for k, v in compiled.get_config().items() if k != "name"} if compiled else {}
    if compiled:
        optimizer["class"] = type(compiled).__name__
    loss = getattr(model, "loss", None)
    value = {
        "layers": [[type(layer).__name__, [list(w.shape) for w in layer.weights]] for layer in model.layers],
        "optimizer": optimizer,
        "steps_per_epoch": steps,
        "layer_settings": layer_settings(model),
        "loss": getattr(loss, "__name__", None) or (None if loss is None else str(loss)),
    }
    if getattr(model, "beta", 1.0) != 1.0:  # a beta-VAE's KL weight (left out at 1: older runs match)
        value["beta"] = model.beta
    return json.loads(json.dumps(value, default=str))


class EpochLog(keras.callbacks.Callback):
    """Refuse a backup of another model; log every epoch; give ``fit`` the whole history.

    Each completed epoch ``e`` replaces the entries from ``e`` on in ``history.json``, so a
    fresh run replaces an old log while a resumed one keeps the epochs before the
    interruption. ``trained_on.json`` gets one entry per training session.
    """

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self.entries: list[dict[str, float]] = []
        self.sessions: list[dict[str, Any]] = []
        self.trained = False
        self._started = self._cpu_started = 0.0

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        current = fingerprint(self.model, self.params.get("steps"))
        stored = self.folder / "run.json"
        backup = self.folder / "backup"
        if backup.is_dir() and any(backup.iterdir()) and stored.is_file():
            old = json.loads(stored.read_text())
            differs = [key for key in current if key in old and old[key] != current[key]]
            if differs:
                raise RuntimeError(
                    f"{self.folder} holds a run of a different model or recipe (its "
                    f"{', '.join(differs)} differ from this one), so it cannot be resumed. "
                    "Delete or rename that folder to train this model from scratch."
                )
        write_json(stored, current)
        log, sessions = self.folder / "history.json", self.folder / "trained_on.json"
        self.entries = json.loads(log.read_text()) if log.is_file() else []
        self.sessions = json.loads(sessions.read_text()) if sessions.is_file() else []
        self.trained = False

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        if len(self.entries) < epoch:
            raise RuntimeError(
                f"{self.folder / 'history.json'} holds {len(self.entries)} epochs, but training "
                f"resumes after epoch {epoch}: the log and the backup disagree (was the log "
                "edited?). Delete the run folder to train from scratch."
            )
        self._started, self._cpu_started = time.perf_counter(), time.process_time()

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        entry = {key: float(value) for key, value in (logs or {}).items()}
        entry["seconds"] = time.perf_counter() - self._started
        # CPU time of the whole process (user + sys, all threads): unlike the wall time,
        # it does not grow when other work shares the machine.
        entry["cpu_seconds"] = time.process_time() - self._cpu_started
        self.entries = self.entries[:epoch] + [entry]
        write_json(self.folder / "history.json", self.entries)
        if not self.trained:  # the first epoch of this session: older stretches past it go
            self.sessions = [dict(s, last_epoch=min(s["last_epoch"], epoch)) for s in self.sessions
                             if s["first_epoch"] <= epoch]
            self.sessions.append({"first_epoch": epoch + 1, "device": device_description(),
                                  "backend": keras.backend.backend(), "keras_version": keras.__version__,
                                  "cpu_peak_gflops": cpu_peak_gflops(), "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")})
            self.trained = True
        self.sessions[-1]["last_epoch"] = epoch + 1
        write_json(self.folder / "trained_on.json", self.sessions)

    def on_train_end(self, logs: Mapping[str, float] | None = None) -> None:
        if not isinstance(getattr(self.model, "history", None), keras.callbacks.History):
            # Restored after the last epoch: fit ran none and made no History.
            self.model.history = keras.callbacks.History()
            self.model.history.set_model(self.model)
        self.model.history.history = history_from_log(self.entries)
        self.model.history.epoch = list(range(len(self.entries)))


def history_from_log(entries: list[dict[str, float]]) -> dict[str, list[float]]:
    """Per-metric lists from an epoch log; a metric missing from an epoch is NaN there."""
    names = dict.fromkeys(key for entry in entries for key in entry if key not in ("seconds", "cpu_seconds"))
    return {name: [entry.get(name, math.nan) for entry in entries] for name in names}


class CompactProgress(keras.callbacks.Callback):
    """Print about ten lines per run (use with ``verbose=0``), and say when it resumed.

    A run restored from a finished backup prints the same lines from its log.
    """

    def __init__(self, lines: int = 10) -> None:
        super().__init__()
        self.lines = lines
        self._first: int | None = None
        self._started = 0.0

    def _print(self, epoch: int, total: int, logs: Mapping[str, float], seconds: float | None = None) -> None:
        if epoch == self._first or (epoch + 1) % max(1, total // self.lines) == 0 or epoch + 1 == total:
            timing = f"  ({seconds:.1f} s)" if seconds is not None else ""
            print(f"epoch {epoch + 1:>3}/{total}  " + "  ".join(f"{k} {v:.4f}" for k, v in logs.items()) + timing)

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        if self._first is None:
            self._first = epoch
            if epoch > 0:
                print(f"resuming after epoch {epoch} from the backup of an interrupted run")
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self._print(epoch, self.params.get("epochs", epoch + 1), logs or {}, time.perf_counter() - self._started)

    def on_train_end(self, logs: Mapping[str, float] | None = None) -> None:
        if self._first is None:
            values = self.model.history.history
            total = len(values.get("loss", []))
            print(f"restored a completed run of {total} epochs from its backup "
                  "(delete its run folder to train again); its log:")
            self._first = 0
            for epoch in range(total):
                self._print(epoch, total, {k: v[epoch] for k, v in values.items()})
        self._first = None


class BestWeights(keras.callbacks.ModelCheckpoint):
    """Keep the weights of the epoch with the lowest ``monitor``; stop at once if it is not logged
    (Keras' own checkpoint only warns, and the run ends without the file)."""

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        if self.monitor not in (logs or {}):
            raise ValueError(
                f"best_weights=True keeps the epoch with the lowest {self.monitor!r}, but this "
                f"fit does not log it (it logs {sorted(logs or {})}). Pass validation_data to "
                "fit, or give resumable() a monitor that the fit logs."
            )
        super().on_epoch_end(epoch, logs)


def resumable(
    name: str, best_weights: bool = False, monitor: str = "val_loss", progress: bool = True
) -> list[keras.callbacks.Callback]:
    """Return the callbacks that make ``model.fit`` resumable and logged (see module doc).

    Args:
        name: the run's name, e.g. ``"04-convolutional-autoencoder"``; with ``AE_SHIP=1``
            (``make full``) a full-profile run ships its model under it.
        best_weights: also keep the weights of the best ``monitor`` value in
            ``best.weights.h5``; those are the weights shipped.
        monitor: the metric that decides "best" (lower is better).
        progress: print about ten lines per run (pair it with ``verbose=0``).
    """
    from aehelpers.reference import ShipModel  # reference imports this module

    folder = run_dir(name)
    log = EpochLog(folder)
    callbacks: list[keras.callbacks.Callback] = [log] + ([CompactProgress()] if progress else [])
    if best_weights:
        seen = [e[monitor] for e in json.loads((folder / "history.json").read_text()) if monitor in e] \
            if (folder / "backup").is_dir() and (folder / "history.json").is_file() else []
        callbacks.append(BestWeights(str(folder / "best.weights.h5"), monitor=monitor, save_best_only=True,
                                     save_weights_only=True, initial_value_threshold=min(seen) if seen else None))
    if current_profile() == "full" and os.environ.get(SHIP_VARIABLE) == "1":
        callbacks.append(ShipModel(name, log, best_weights, monitor))
    # The backup goes last: an epoch counts as done only once its log entry and best
    # weights are written. It is kept after the last epoch (running the cell again
    # restores the finished model), with the previous epoch's copy in case a kill
    # corrupts the newest.
    callbacks.append(keras.callbacks.BackupAndRestore(str(folder / "backup"), delete_checkpoint=False,
                                                      double_checkpoint=True))
    return callbacks


def epoch_log(name: str) -> list[dict[str, float]]:
    """The epoch log of a run: the shipped one in the reference profile, else the run folder's.

    Raises:
        FileNotFoundError: if the run has no log (train it with :func:`resumable` first).
    """
    from aehelpers.reference import shipped_log

    if current_profile() == "reference" and (entries := shipped_log(name)) is not None:
        return entries
    log_file = run_dir(name) / "history.json"
    if not log_file.is_file():
        raise FileNotFoundError(f"{log_file} does not exist: train with callbacks=ae.resumable({name!r}) first.")
    return json.loads(log_file.read_text())


def epoch_seconds(name: str) -> list[float]:
    """Wall-clock seconds of every epoch of a run (training and validation pass together)."""
    return [float(entry["seconds"]) for entry in epoch_log(name)]
