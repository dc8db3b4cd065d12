import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def fashion():
    """The real data set, loaded once: ((x_train, y_train), (x_test, y_test)) as uint8."""
    from aehelpers.data import load_raw

    return load_raw()


@pytest.fixture
def images():
    """A small deterministic batch of 12 flat images with pixels in [0, 1]."""
    return np.random.default_rng(0).random((12, 784)).astype("float32")


@pytest.fixture
def full_run_in_tmp(tmp_path, monkeypatch):
    """A full-profile run (as make full makes it) whose run folders, records and shipped
    models live under tmp_path."""
    monkeypatch.setenv("AE_PROFILE", "full")
    monkeypatch.setenv("AE_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("AE_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("AE_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("AE_SHIP", "1")  # as under make full: a finished run ships its model there
    return tmp_path
