"""Start the Keras backend without its start-up noise.

TensorFlow's C++ core prints oneDNN and CUDA banners straight to file descriptor 2 while
it loads, before any logging setting can reach it; in Jupyter those lines land in the
first cell that imports Keras. :func:`quiet_import` loads Keras (and so its backend)
once with that descriptor pointed at a temporary file. Errors still surface: the
exception is raised after the descriptor is restored, with what the libraries wrote to
it printed first. Set ``AE_SHOW_BACKEND_LOG=1`` to see that output in every case.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterator


@contextlib.contextmanager
def silenced_stderr_fd() -> Iterator[None]:
    """Send file descriptor 2 to a temporary file inside the block, then restore it.

    If the block raises, what was written there is printed before the exception goes on,
    so a native library's own explanation of a failed import is not lost.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    failed = False
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if failed:
                captured.seek(0)
                sys.stderr.write(captured.read().decode(errors="replace"))


def quiet_import() -> None:
    """Import Keras and initialise its backend's devices with the C++ banners silenced."""
    if os.environ.get("AE_SHOW_BACKEND_LOG") == "1":  # TensorFlow's own log level stays the reader's
        importlib.import_module("keras")
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "keras" in sys.modules:
        return
    with silenced_stderr_fd():
        importlib.import_module("keras")
        if importlib.util.find_spec("tensorflow") is not None:
            # Keras loads TensorFlow for its data utilities on every backend, later and
            # loudly if not here; the first device query logs the failed CUDA probe.
            importlib.import_module("tensorflow").config.list_physical_devices()
