"""Start the Keras backend without its start-up noise.

TensorFlow's C++ core prints oneDNN and CUDA banners straight to file descriptor 2 while
it loads, before any logging setting can reach it; in Jupyter those lines land in the
first cell that imports Keras. :func:`quiet_import` loads Keras (and so its backend)
once with that descriptor pointed at ``/dev/null``. Python errors still surface: the
exception is raised after the descriptor is restored.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def silenced_stderr_fd() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null inside the block, then restore it."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def quiet_import() -> None:
    """Import Keras and initialise its backend's devices with the C++ banners silenced."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "keras" in sys.modules:
        return
    with silenced_stderr_fd():
        importlib.import_module("keras")
        if importlib.util.find_spec("tensorflow") is not None:
            # Keras loads TensorFlow for its data utilities on every backend, later and
            # loudly if not here; the first device query logs the failed CUDA probe.
            importlib.import_module("tensorflow").config.list_physical_devices()
