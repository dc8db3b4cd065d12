"""Seconds per epoch of the basic and convolutional chapters on TensorFlow, JAX and PyTorch.

    python tools/benchmark_backends.py            # writes book/results/_backends.json

Each chapter notebook runs unchanged in a fresh kernel per backend (quick profile with
AE_QUICK_EPOCHS epochs, on the full data) and in one run on the same machine, one after
the other. The first epoch includes tracing and compilation, so the figure kept is the
median of the later epochs, read from the run's epoch log. Needs jax and torch installed
(make test-jax and make test-torch install them).
"""

from __future__ import annotations

import datetime
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = {"01-basic-autoencoder": 4, "04-convolutional-autoencoder": 2}  # chapter -> epochs
BACKENDS = ("tensorflow", "jax", "torch")


def seconds_per_epoch(chapter: str, epochs: int, backend: str, runs: Path) -> float:
    os.environ.update(
        KERAS_BACKEND=backend, AE_PROFILE="quick", AE_QUICK_EPOCHS=str(epochs), AE_RUNS_DIR=str(runs / backend)
    )
    notebook = nbformat.read(ROOT / "notebooks" / f"{chapter}.ipynb", as_version=4)
    NotebookClient(notebook, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    log = json.loads((runs / backend / "quick" / chapter / "history.json").read_text())
    return statistics.median(entry["seconds"] for entry in log[1:])


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from aehelpers.records import device_description

    started = time.perf_counter()
    table: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for chapter, epochs in CHAPTERS.items():
            for backend in BACKENDS:
                value = seconds_per_epoch(chapter, epochs, backend, Path(folder))
                table.setdefault(chapter, {})[backend] = value
                print(f"{chapter:>30} {backend:>10}: {value:6.2f} s per epoch", flush=True)
    record = {
        "seconds_per_epoch": table,
        "epochs_measured": {c: e - 1 for c, e in CHAPTERS.items()},
        "device": device_description(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": time.perf_counter() - started,
    }
    (ROOT / "book" / "results" / "_backends.json").write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
