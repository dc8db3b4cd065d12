"""The record of each chapter: its numbers, for the results page and the tests.

:func:`save_results` writes ``book/results/<chapter>.json`` when the page is made from
the shipped models (the reference profile, in which the book's pages are executed;
re-making a page writes the same numbers again), and into the run's folder otherwise,
so that neither a retraining nor a test run overwrites the book's numbers.
"""

from __future__ import annotations

import json
import math
import os
import platform
import warnings
from pathlib import Path
from typing import Any

import keras

from aehelpers.flops import count_flops, cpu_peak_gflops
from aehelpers.profile import current_profile

RESULTS_DIR_VARIABLE = "AE_RESULTS_DIR"


def project_root() -> Path:
    """Return the book's repository root when run from inside it, else the working directory."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file() and (folder / "aehelpers").is_dir():
            return folder
    return here


def write_json(path: Path, value: Any) -> None:
    """Write JSON so that a kill never leaves half a file."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(value, indent=1) + "\n")
    temporary.replace(path)


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
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"CPU: {model}, {os.cpu_count()} cores"


def results_dir() -> Path:
    """The folder of the book's records: ``AE_RESULTS_DIR`` or ``<root>/book/results``."""
    return Path(os.environ.get(RESULTS_DIR_VARIABLE) or project_root() / "book" / "results")


def load_results(chapter: str) -> dict[str, Any] | None:
    """Return the book's record of a chapter, or None if there is none."""
    path = results_dir() / f"{chapter}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def save_results(
    chapter: str,
    history: Any,
    model: keras.Model | None = None,
    run: str | None = None,
    **numbers: Any,
) -> dict[str, Any]:
    """Write the record of a chapter's main run, print one line about it, and return it.

    Args:
        chapter: the chapter's notebook stem.
        history: what ``fit`` or :func:`~aehelpers.reference.load_reference` returned, or
            None for a chapter that trains nothing (its training fields are then None).
        model: the model; its forward-pass FLOPs per example are recorded.
        numbers: further numbers to keep, by name, e.g. ``floor=floor`` (NumPy
            scalars and arrays are stored as plain numbers and lists).
        run: the run's name where it is not ``chapter``.

    The record goes to ``book/results/`` in the reference profile (the book's pages are
    made from the shipped models) and to the run folder otherwise. It holds ``run`` (the
    run's name, ``chapter`` unless given), ``profile``, ``epochs``, ``final_loss``, ``final_val_loss``, ``best_val_loss``, ``best_epoch``,
    ``seconds``, ``seconds_per_epoch``, ``trained_on`` (the sessions that trained it),
    ``backend``, ``keras_version``, ``forward_flops``, ``cpu_peak_gflops``, the further
    numbers and the per-epoch ``history``.
    """
    from aehelpers.reference import shipped_trained_on
    from aehelpers.training import epoch_log, run_dir

    taken = {"chapter", "run", "profile", "epochs", "final_loss", "final_val_loss", "best_val_loss", "best_epoch",
             "seconds", "seconds_per_epoch", "trained_on", "backend", "keras_version", "forward_flops",
             "cpu_peak_gflops", "history"}
    if clash := sorted(taken & set(numbers)):
        raise ValueError(f"save_results fills {', '.join(clash)} itself: give your numbers other names.")
    values = {} if history is None else dict(getattr(history, "history", history))
    if history is not None and not values.get("loss"):
        raise ValueError("history has no 'loss' values: pass what model.fit returned.")
    name = run or chapter
    profile = current_profile()
    try:
        seconds = [e["seconds"] for e in epoch_log(name)]
    except FileNotFoundError:
        seconds = []
    if len(seconds) != len(values.get("loss", [])):
        seconds = []  # the log belongs to another run; do not invent timings
    trained_on = shipped_trained_on(name) if profile == "reference" else None
    if trained_on is None and (sessions := run_dir(name) / "trained_on.json").is_file():
        trained_on = json.loads(sessions.read_text())
    # Epochs without a validation pass (validation_freq > 1) hold NaN: skip them.
    validated = [(e, v) for e, v in enumerate(values.get("val_loss", []), start=1) if not math.isnan(v)]
    try:
        flops = count_flops(model) if model is not None else None
    except ValueError as error:  # a layer without a counting rule: the record matters more
        warnings.warn(f"forward_flops left out of the record: {error}", stacklevel=2)
        flops = None
    record: dict[str, Any] = {
        "chapter": chapter,
        "run": name,
        "profile": profile,
        "epochs": len(values["loss"]) if values else None,
        "final_loss": values["loss"][-1] if values else None,
        "final_val_loss": validated[-1][1] if validated else None,
        "best_val_loss": min(v for _, v in validated) if validated else None,
        "best_epoch": min(validated, key=lambda pair: pair[1])[0] if validated else None,
        "seconds": sum(seconds) if seconds else None,
        "seconds_per_epoch": sum(seconds) / len(seconds) if seconds else None,
        "trained_on": trained_on,
        "backend": keras.backend.backend(),
        "keras_version": keras.__version__,
        "forward_flops": flops,
        "cpu_peak_gflops": _training_peak(trained_on),
        **json.loads(json.dumps(numbers, default=_plain)),
        "history": {key: list(map(float, series)) for key, series in values.items()},
    }
    path = results_dir() / f"{chapter}.json" if profile == "reference" else run_dir(name) / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, record)
    where = sorted({s["device"] for s in trained_on or []})
    print(f"{profile} profile: " + (f"{record['epochs']} epochs" if values else "no training")
          + (f", {record['seconds_per_epoch']:.1f} s per epoch" if seconds else "")
          + (f" on {' and '.join(where)}" if where else "") + f"; record written to {relative_to_root(path)}")
    return record


def _training_peak(trained_on: list[dict[str, Any]] | None) -> float | None:
    """The peak GFLOP/s of the machine that trained a run: from its log of sessions, or
    measured here when this is that machine (older logs do not state it); else None."""
    if trained_on and trained_on[-1].get("cpu_peak_gflops"):
        return trained_on[-1]["cpu_peak_gflops"]
    return cpu_peak_gflops() if not trained_on or trained_on[-1]["device"] == device_description() else None


def _plain(value: Any) -> Any:
    """NumPy and Keras numbers as JSON numbers."""
    return value.tolist() if hasattr(value, "tolist") else float(value)


def relative_to_root(path: Path) -> str:
    """A path relative to the book's root when it lies inside it, for messages and the manifest."""
    try:
        return str(path.relative_to(project_root()))
    except ValueError:
        return str(path)
