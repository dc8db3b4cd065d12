"""Training that survives interruption, and the record each full run leaves behind.

A chapter trains with ``model.fit(..., callbacks=ae.resumable(CHAPTER))``. The callbacks
keep everything of the run in ``runs/<profile>/<chapter>/`` (ignored by git):

* ``backup/``: Keras' :class:`~keras.callbacks.BackupAndRestore` state after every epoch.
  Run the same cell again after a crash or a kill and training resumes after the last
  completed epoch instead of starting over. A run that completed is restored, not
  retrained (delete its folder to train again), so re-running a chapter after editing
  its prose costs seconds;
* ``run.json``: a fingerprint of the model and optimizer, so that a changed model is
  never silently resumed from the backup of another;
* ``history.json``: the metrics and seconds of every completed epoch, so that the
  ``History`` that ``fit`` returns covers the whole run even when it was resumed;
* ``trained_on.json``: which device, backend and Keras trained which epochs, and when
  (a run resumed on another machine has one entry per machine);
* ``best.weights.h5`` (with ``best_weights=True``): the weights of the epoch with the
  lowest validation loss;
* ``final.weights.h5``: the weights at the end of training.

:func:`save_results` then writes the run's numbers to ``book/results/<chapter>.json`` (full
profile) for the results page; a quick run writes into its run folder instead, so it can
never overwrite the record of a full one.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras

from aehelpers.flops import count_flops, cpu_peak_gflops
from aehelpers.profile import current_profile

RUNS_DIR_VARIABLE = "AE_RUNS_DIR"
RESULTS_DIR_VARIABLE = "AE_RESULTS_DIR"


def project_root() -> Path:
    """Return the book's repository root when run from inside it, else the working directory."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file() and (folder / "aehelpers").is_dir():
            return folder
    return here


def run_dir(chapter: str) -> Path:
    """Return (and create) the folder of one chapter's run in the current profile.

    It is ``<AE_RUNS_DIR or <root>/runs>/<profile>/<chapter>``: a quick run never
    resumes from, or overwrites, the files of a full one.
    """
    if not chapter or "/" in chapter or chapter.startswith("."):
        raise ValueError(f"chapter must be a plain name such as '01-basic-autoencoder', got {chapter!r}.")
    base = Path(os.environ.get(RUNS_DIR_VARIABLE) or project_root() / "runs")
    folder = base / current_profile() / chapter
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class EpochLog(keras.callbacks.Callback):
    """Persist every completed epoch's metrics and duration; restore the full history.

    Entries are kept by epoch index in ``path``. Ending epoch ``e`` stores its entry and
    drops any stale entries after it, so a fresh run replaces an old record while a
    resumed run keeps the epochs completed before the interruption. At the end of
    training the model's ``History`` (what ``fit`` returns) is rebuilt from all entries,
    and the final weights are saved beside the log.

    Beside the log, ``trained_on.json`` lists the stretches of epochs each training
    session ran (first and last epoch, device, backend, Keras version, date), so that a
    record made later, from a restored run or on another machine, still says where the
    epoch times were measured.
    """

    def __init__(self, path: str | os.PathLike, final_weights: str | os.PathLike | None = None) -> None:
        super().__init__()
        self.path = Path(path)
        self.final_weights = Path(final_weights) if final_weights else None
        self.entries: list[dict[str, float]] = []
        self.sessions: list[dict[str, Any]] = []
        self._session: dict[str, Any] | None = None
        self._started = 0.0

    @property
    def sessions_path(self) -> Path:
        return self.path.with_name("trained_on.json")

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        self.entries = json.loads(self.path.read_text()) if self.path.is_file() else []
        self.sessions = json.loads(self.sessions_path.read_text()) if self.sessions_path.is_file() else []
        self._session = None

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        if len(self.entries) < epoch:
            raise RuntimeError(
                f"{self.path} holds {len(self.entries)} epochs, but training resumes after epoch "
                f"{epoch}: the log and the backup beside it disagree (was the log edited or "
                "replaced?). Delete the run folder to train from scratch."
            )
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        entry = {key: float(value) for key, value in (logs or {}).items()}
        entry["seconds"] = time.perf_counter() - self._started
        self.entries = self.entries[:epoch] + [entry]
        _write_json_atomically(self.path, self.entries)
        if self._session is None:
            # Stretches of an older run past this epoch are being replaced.
            self.sessions = [dict(s, last_epoch=min(s["last_epoch"], epoch)) for s in self.sessions
                             if s["first_epoch"] <= epoch]
            self._session = {
                "first_epoch": epoch + 1,
                "last_epoch": epoch + 1,
                "device": device_description(),
                "backend": keras.backend.backend(),
                "keras_version": keras.__version__,
                "date": _utc_now(),
            }
            self.sessions.append(self._session)
        self._session["last_epoch"] = epoch + 1
        _write_json_atomically(self.sessions_path, self.sessions)

    def on_train_end(self, logs: Mapping[str, float] | None = None) -> None:
        history = getattr(self.model, "history", None)
        if not isinstance(history, keras.callbacks.History):
            # Resumed after the last epoch had completed: fit ran no epoch at all.
            history = keras.callbacks.History()
            history.set_model(self.model)
            self.model.history = history
        # Every metric any epoch logged (validation may run only every few epochs).
        names = list(dict.fromkeys(key for entry in self.entries for key in entry if key != "seconds"))
        history.history = {name: [entry.get(name, math.nan) for entry in self.entries] for name in names}
        history.epoch = list(range(len(self.entries)))
        if self.final_weights is not None:
            self.model.save_weights(self.final_weights)


def _write_json_atomically(path: Path, value: Any) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(value, indent=1))
    temporary.replace(path)  # a kill never leaves half a file


def _utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _without_names(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_names(v) for k, v in value.items() if k != "name"}
    if isinstance(value, (list, tuple)):
        return [_without_names(v) for v in value]
    return value


def _layer_settings(model: keras.Model) -> list[Any]:
    """Each layer's configuration without names (wrapped layers, e.g. TimeDistributed's,
    included), nested models opened up."""
    settings: list[Any] = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            settings.append([type(layer).__name__, _layer_settings(layer)])
        else:
            settings.append([type(layer).__name__, _without_names(layer.get_config())])
    return settings


def _as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def fingerprint(model: keras.Model, steps: int | None) -> dict[str, Any]:
    """Describe what a backup can only be resumed into.

    Layer kinds and weight shapes, every layer's settings (activations, strides,
    regularisers, ...), the loss and the optimizer, and the steps per epoch. Layer and
    optimizer *names* are left out: Keras numbers them by creation order, so they change
    when a cell is run twice in one kernel.
    """
    optimizer = model.optimizer
    optimizer_config = {}
    if optimizer is not None:
        optimizer_config = {k: v for k, v in optimizer.get_config().items() if k != "name"}
        optimizer_config["class"] = type(optimizer).__name__
    layers = [
        [type(layer).__name__, [list(w.shape) for w in layer.weights]] for layer in model.layers
    ]
    loss = getattr(model, "loss", None)
    return {
        "layers": layers,
        "optimizer": _as_json(optimizer_config),
        "steps_per_epoch": steps,
        "layer_settings": _as_json(_layer_settings(model)),
        "loss": getattr(loss, "__name__", None) or (None if loss is None else str(loss)),
    }


class RunGuard(keras.callbacks.Callback):
    """Refuse to resume a backup made by a different model or optimizer.

    Runs before :class:`~keras.callbacks.BackupAndRestore`: it compares the
    :func:`fingerprint` of the model being trained with the one stored in ``run.json``
    and, if a backup exists and they differ, stops with an error that says what to do.
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        super().__init__()
        self.folder = Path(folder)

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        current = fingerprint(self.model, self.params.get("steps"))
        stored_file = self.folder / "run.json"
        has_backup = (self.folder / "backup").is_dir() and any((self.folder / "backup").iterdir())
        if has_backup and stored_file.is_file():
            stored = json.loads(stored_file.read_text())
            # A run.json written before a field existed is compared on the fields it has.
            differs = [key for key in current if key in stored and stored[key] != current[key]]
            if differs:
                raise RuntimeError(
                    f"{self.folder} holds a run of a different model or recipe "
                    f"(its {', '.join(differs)} differ from this one), so it cannot be resumed. "
                    "Delete or rename that folder to train this model from scratch."
                )
        stored_file.write_text(json.dumps(current, indent=1))


class CompactProgress(keras.callbacks.Callback):
    """Print one short line for about every tenth epoch (and the first and last).

    Use it with ``fit(..., verbose=0)``: a 150-epoch run then prints a dozen lines
    rather than hundreds, and says when it resumed from an earlier run. When a completed
    run is restored from its backup, it prints the same lines from the stored history.
    """

    def __init__(self, lines: int = 10) -> None:
        super().__init__()
        self.lines = lines
        self._first_epoch: int | None = None
        self._started = 0.0

    def _shown(self, epoch: int, total: int) -> bool:
        every = max(1, total // self.lines)
        return epoch == self._first_epoch or (epoch + 1) % every == 0 or epoch + 1 == total

    @staticmethod
    def _line(epoch: int, total: int, logs: Mapping[str, float], seconds: float | None) -> str:
        metrics = "  ".join(f"{k} {v:.4f}" for k, v in logs.items())
        timing = f"  ({seconds:.1f} s)" if seconds is not None else ""
        return f"epoch {epoch + 1:>3}/{total}  {metrics}{timing}"

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        if self._first_epoch is None:
            self._first_epoch = epoch
            if epoch > 0:
                print(f"resuming after epoch {epoch} from the backup of an interrupted run")
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        total = self.params.get("epochs", epoch + 1)
        if self._shown(epoch, total):
            print(self._line(epoch, total, logs or {}, time.perf_counter() - self._started))

    def on_train_end(self, logs: Mapping[str, float] | None = None) -> None:
        if self._first_epoch is None:
            values = getattr(getattr(self.model, "history", None), "history", {}) or {}
            total = len(values.get("loss", []))
            print(f"restored a completed run of {total} epochs from its backup "
                  "(delete the chapter's run folder to train again); its log:")
            self._first_epoch = 0
            for epoch in range(total):
                if self._shown(epoch, total):
                    print(self._line(epoch, total, {k: v[epoch] for k, v in values.items()}, None))
        self._first_epoch = None


class BestWeights(keras.callbacks.ModelCheckpoint):
    """Keep the weights of the epoch with the lowest ``monitor`` value.

    Keras' own checkpoint only warns when the metric is missing from the logs (``fit``
    without validation data, or a misspelt name), and the run then ends without the
    file the chapter loads; this one stops after the first epoch and says why.
    """

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        if self.monitor not in (logs or {}):
            raise ValueError(
                f"best_weights=True keeps the epoch with the lowest {self.monitor!r}, but this "
                f"fit does not log it (it logs {sorted(logs or {})}). Pass validation_data to "
                "fit, or give resumable() a monitor that the fit logs."
            )
        super().on_epoch_end(epoch, logs)


def resumable(
    chapter: str, best_weights: bool = False, monitor: str = "val_loss", progress: bool = True
) -> list[keras.callbacks.Callback]:
    """Return the callbacks that make ``model.fit`` resumable and recorded (see module doc).

    Args:
        chapter: the chapter's notebook stem, e.g. ``"04-convolutional-autoencoder"``.
        best_weights: also keep the weights of the best ``monitor`` value seen so far in
            ``best.weights.h5`` (Keras 3 needs the ``.weights.h5`` suffix).
        monitor: the metric that decides "best" (lower is better).
        progress: add :class:`CompactProgress` (pair it with ``verbose=0``).
    """
    folder = run_dir(chapter)
    log = EpochLog(folder / "history.json", final_weights=folder / "final.weights.h5")
    callbacks: list[keras.callbacks.Callback] = [RunGuard(folder), log]
    if progress:
        callbacks.append(CompactProgress())
    if best_weights:
        threshold = None
        history_file = folder / "history.json"
        if (folder / "backup").is_dir() and history_file.is_file():
            # Resuming: only an epoch better than the best already saved may replace it.
            seen = [e[monitor] for e in json.loads(history_file.read_text()) if monitor in e]
            threshold = min(seen) if seen else None
        callbacks.append(
            BestWeights(
                str(folder / "best.weights.h5"),
                monitor=monitor,
                mode="min",
                save_best_only=True,
                save_weights_only=True,
                initial_value_threshold=threshold,
            )
        )
    # The backup goes last: an epoch counts as done only once its log entry and best
    # weights are written, so a kill in between makes the epoch run again rather than
    # leave the log or the best weights behind the backup. It is kept after the last
    # epoch (running the cell again restores the finished model instead of training it
    # twice), with the previous epoch's copy in case a kill corrupts the newest file.
    callbacks.append(
        keras.callbacks.BackupAndRestore(
            backup_dir=str(folder / "backup"), delete_checkpoint=False, double_checkpoint=True
        )
    )
    return callbacks


def epoch_seconds(chapter: str) -> list[float]:
    """Wall-clock seconds of every completed epoch of a run, from its ``history.json``.

    The clock of :class:`EpochLog` covers each epoch's training and validation pass; a
    run resumed after a kill keeps the seconds of the epochs completed before it.

    Raises:
        FileNotFoundError: if the run has no log yet (train it with :func:`resumable` first).
    """
    log_file = run_dir(chapter) / "history.json"
    if not log_file.is_file():
        raise FileNotFoundError(f"{log_file} does not exist: train with callbacks=ae.resumable({chapter!r}) first.")
    return [float(entry["seconds"]) for entry in json.loads(log_file.read_text())]


def seconds_to_reach(seconds: list[float], losses: list[float], target: float) -> float | None:
    """Training time until the first epoch whose loss is at or below ``target``, or None.

    Args:
        seconds: duration of each epoch.
        losses: the loss after each epoch (for example the validation loss).
        target: the loss to reach.
    """
    if len(seconds) != len(losses):
        raise ValueError(f"got {len(seconds)} epoch times but {len(losses)} losses.")
    elapsed = 0.0
    for duration, loss in zip(seconds, losses):
        elapsed += duration
        if loss <= target:
            return elapsed
    return None


def device_description() -> str:
    """Describe where Keras runs: the accelerator if the backend sees one, else the CPU."""
    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            device = jax.devices()[0]
            if device.platform != "cpu":
                return f"{device.platform.upper()}: {device.device_kind}"
        elif backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                return f"GPU: {tf.config.experimental.get_device_details(gpus[0]).get('device_name', 'GPU')}"
        elif backend == "torch":
            import torch

            if torch.cuda.is_available():
                return f"GPU: {torch.cuda.get_device_name(0)}"
    except Exception:  # a device query must never break a chapter
        pass
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"CPU: {model}, {os.cpu_count()} cores"


def results_dir() -> Path:
    """The folder of the full-run records: ``AE_RESULTS_DIR`` or ``<root>/book/results``."""
    return Path(os.environ.get(RESULTS_DIR_VARIABLE) or project_root() / "book" / "results")


def results_path(chapter: str) -> Path:
    """Where :func:`save_results` writes: ``book/results/`` for full runs, the run folder else."""
    if current_profile() != "full":
        return run_dir(chapter) / "results.json"
    results_dir().mkdir(parents=True, exist_ok=True)
    return results_dir() / f"{chapter}.json"


def load_results(chapter: str) -> dict[str, Any] | None:
    """Return the full-profile record of a chapter from ``book/results``, or None if absent.

    Chapters use it to compare themselves with earlier ones without retraining them.
    """
    path = results_dir() / f"{chapter}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _flops_or_none(model: keras.Model | None) -> int | None:
    """The model's forward FLOPs per example; None (with a warning) where they cannot be counted."""
    if model is None:
        return None
    try:
        return count_flops(model)
    except ValueError as error:  # the record of a finished run matters more than this field
        warnings.warn(f"forward_flops left out of the record: {error}", stacklevel=3)
        return None


def save_results(
    chapter: str,
    history: Any,
    model: keras.Model | None = None,
    extra: Mapping[str, Any] | None = None,
    run: str | None = None,
) -> dict[str, Any]:
    """Write the record of a finished training run and return it.

    Args:
        chapter: the chapter's notebook stem.
        history: what ``model.fit`` returned (with :func:`resumable` callbacks, the
            whole run, resumed parts included).
        model: the trained model; its forward-pass FLOPs per example are recorded
            (:func:`aehelpers.flops.count_flops`).
        extra: further numbers to keep, e.g. test-set ELBO terms or a PSNR.
        run: the name that ``history``'s run was given in :func:`resumable`, where it
            is not ``chapter`` (a chapter that trains several models); the epoch times
            are read from that run's log.

    The record holds ``profile``, ``epochs``, ``final_loss``, ``final_val_loss``,
    ``best_val_loss``, ``best_epoch``, ``seconds``, ``seconds_per_epoch``, ``backend``,
    ``device``, ``keras_version``, ``date`` (of this session, which made the record),
    ``trained_on`` (the sessions that trained the epochs, from the run's
    ``trained_on.json``, or None for a run logged before that file existed) and the full
    per-epoch ``history``.
    """
    values = dict(getattr(history, "history", history))
    if not values.get("loss"):
        raise ValueError("history has no 'loss' values: pass what model.fit returned.")
    log_file = run_dir(run or chapter) / "history.json"
    seconds = [e["seconds"] for e in json.loads(log_file.read_text())] if log_file.is_file() else []
    if len(seconds) != len(values["loss"]):
        seconds = []  # the log belongs to another run; do not invent timings
    sessions_file = log_file.with_name("trained_on.json")
    trained_on = json.loads(sessions_file.read_text()) if sessions_file.is_file() else None
    if trained_on and trained_on[-1]["last_epoch"] != len(values["loss"]):
        trained_on = None
    # Epochs without a validation pass (validation_freq > 1) hold NaN: skip them.
    validated = [(epoch, v) for epoch, v in enumerate(values.get("val_loss", []), start=1) if not math.isnan(v)]
    val = [v for _, v in validated]
    record: dict[str, Any] = {
        "chapter": chapter,
        "profile": current_profile(),
        "epochs": len(values["loss"]),
        "final_loss": values["loss"][-1],
        "final_val_loss": val[-1] if val else None,
        "best_val_loss": min(val) if val else None,
        "best_epoch": min(validated, key=lambda pair: pair[1])[0] if validated else None,
        "seconds": sum(seconds) if seconds else None,
        "seconds_per_epoch": sum(seconds) / len(seconds) if seconds else None,
        "backend": keras.backend.backend(),
        "device": device_description(),
        "keras_version": keras.__version__,
        "date": _utc_now(),
        "trained_on": trained_on,
        "forward_flops": _flops_or_none(model),
        "cpu_peak_gflops": cpu_peak_gflops(),
        **dict(extra or {}),
        "history": {key: list(map(float, series)) for key, series in values.items()},
    }
    path = results_path(chapter)
    path.write_text(json.dumps(record, indent=1) + "\n")
    return record
