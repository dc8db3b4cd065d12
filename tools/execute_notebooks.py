"""Execute chapter notebooks in place under a training profile, and keep their twins in sync.

    python tools/execute_notebooks.py --profile full notebooks/01-basic-autoencoder.ipynb

Each notebook runs top to bottom in a fresh kernel with ``AE_PROFILE`` set; its outputs
replace the stored ones, the per-cell execution timestamps are dropped (they only make
noise in diffs), and ``jupytext --sync`` then brings the paired text twin up to date.
A failing cell stops that notebook, whose stored outputs stay as they were (its text
may have been brought in from the twin first); the other notebooks still run, and the
command ends with an error that names the failed ones.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def sync(path: Path) -> None:
    """Bring a notebook and its text twin in line (the newer of the two wins)."""
    subprocess.run([sys.executable, "-m", "jupytext", "--sync", "--quiet", str(path)], check=True)


def execute(path: Path, profile: str, timeout: int | None) -> float:
    """Run one notebook in place under ``profile``; return the seconds it took."""
    os.environ["AE_PROFILE"] = profile
    os.environ["AE_SHIP"] = "1" if profile == "full" else "0"  # make full replaces the book's models
    # The text twin may hold edits newer than the .ipynb: bring them in first, or the
    # sync after execution (the .ipynb then being newer) would overwrite them.
    sync(path)
    notebook = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(notebook, path)
    sync(path)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--profile", choices=("reference", "full", "quick"), default="reference")
    parser.add_argument("--timeout", type=int, default=None, help="seconds per cell (default: none)")
    args = parser.parse_args()
    for path in args.notebooks:
        if path.suffix != ".ipynb" or not path.is_file():
            parser.error(f"{path} is not an existing .ipynb file")
    failed = []
    for path in args.notebooks:
        print(f"executing {path} ({args.profile} profile) ...", flush=True)
        try:
            seconds = execute(path, args.profile, args.timeout)
        except CellExecutionError as error:
            failed.append(str(path))
            print(f"  FAILED, stored outputs kept:\n{error}", flush=True)
            continue
        print(f"  done in {seconds:.0f} s", flush=True)
    if failed:
        sys.exit(f"{len(failed)} notebook(s) failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
