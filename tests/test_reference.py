"""Shipping a trained model, loading it back, and downloading it where the repository is absent."""

import functools
import http.server
import json
import threading
import zipfile

import h5py
import keras
import numpy as np
import pytest

from aehelpers.reference import ReferenceModelError, load_reference, manifest, sha256_of_file, shipped_file
from aehelpers.training import resumable
from aehelpers.vae import VAE


def tiny_model(units: int = 3, activation: str = "relu") -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6,), name="x")
    outputs = keras.layers.Dense(6, activation="sigmoid")(keras.layers.Dense(units, activation=activation)(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="rmsprop", loss="binary_crossentropy")
    return model


@pytest.fixture
def shipped(full_run_in_tmp, monkeypatch):
    """A tiny model trained in the full profile, which ships it to tmp/models."""
    x = np.random.default_rng(0).random((64, 6)).astype("float32")
    model = tiny_model()
    model.fit(x, x, epochs=3, validation_data=(x, x), verbose=0, callbacks=resumable("toy", progress=False))
    monkeypatch.setenv("AE_PROFILE", "reference")
    return model, full_run_in_tmp / "models"


def test_a_full_run_ships_its_model_without_optimizer_state(shipped):
    model, folder = shipped
    entry = manifest()["models"]["toy"]
    assert entry["sha256"] == sha256_of_file(folder / "toy.keras")
    assert entry["history_sha256"] == sha256_of_file(folder / "toy.history.json")
    assert entry["parameters"] == model.count_params() and entry["epochs"] == 3
    assert entry["test_figure"]["metric"] == "val_loss"
    assert entry["test_figure"]["value"] == json.loads((folder / "toy.history.json").read_text())[-1]["val_loss"]
    with zipfile.ZipFile(folder / "toy.keras") as archive, h5py.File(archive.open("model.weights.h5")) as weights:
        assert "optimizer" not in weights
        datasets = []
        weights.visititems(lambda name, item: datasets.append(item) if isinstance(item, h5py.Dataset) else None)
        assert datasets and all(item.dtype == np.float32 for item in datasets)
    loaded = keras.saving.load_model(folder / "toy.keras", safe_mode=True)
    assert getattr(loaded, "optimizer", None) is None  # uncompiled


def test_the_reference_profile_loads_the_shipped_weights_and_history(shipped, capsys):
    model, _ = shipped
    fresh = tiny_model()
    history = load_reference(fresh, "toy")
    for mine, theirs in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    assert len(history.history["val_loss"]) == 3 and history.epoch == [0, 1, 2]
    line = capsys.readouterr().out.strip()
    assert line.startswith("Loaded the book's trained toy") and "AE_PROFILE=full" in line and "\n" not in line


def test_full_and_quick_profiles_train_and_an_unshipped_model_is_trained(shipped, monkeypatch, capsys):
    for profile in ("full", "quick"):
        monkeypatch.setenv("AE_PROFILE", profile)
        assert load_reference(tiny_model(), "toy") is None
    monkeypatch.setenv("AE_PROFILE", "reference")
    assert load_reference(tiny_model(), "never-shipped") is None
    assert "never-shipped is not shipped with the book: training it" in capsys.readouterr().out


def test_an_altered_file_is_refused_with_its_name_and_how_to_train(shipped):
    _, folder = shipped
    with open(folder / "toy.keras", "ab") as stream:
        stream.write(b"\0")
    with pytest.raises(ReferenceModelError, match=r"toy\.keras is not the file the manifest lists.*AE_PROFILE=full"):
        load_reference(tiny_model(), "toy")


def test_a_model_that_does_not_fit_is_refused(shipped):
    with pytest.raises(ReferenceModelError, match="does not fit the model built above.*AE_PROFILE=full"):
        load_reference(tiny_model(units=4), "toy")


def test_a_model_built_with_other_settings_is_refused_and_the_setting_named(shipped):
    # Same weight shapes, another activation: the shipped weights would load, and mislead.
    with pytest.raises(ReferenceModelError, match=r"other settings.*Dense 1: activation is 'tanh' here, "
                                                  r"'relu' in the shipped model.*AE_PROFILE=full"):
        load_reference(tiny_model(activation="tanh"), "toy")


def test_a_vae_with_another_kl_weight_is_refused(full_run_in_tmp, monkeypatch):
    def vae(beta: float) -> VAE:
        keras.utils.set_random_seed(0)
        x = keras.Input((784,))  # shipping a VAE measures its test ELBO on Fashion-MNIST
        encoder = keras.Model(x, [keras.layers.Dense(2)(x), keras.layers.Dense(2)(x)])
        z = keras.Input((2,))
        model = VAE(encoder, keras.Model(z, keras.layers.Dense(784, activation="sigmoid")(z)), beta=beta)
        model.compile(optimizer="adam")
        return model

    x = np.random.default_rng(0).random((32, 784)).astype("float32")
    vae(4.0).fit(x, epochs=1, verbose=0, callbacks=resumable("toy-vae", progress=False))
    monkeypatch.setenv("AE_PROFILE", "reference")
    assert load_reference(vae(4.0), "toy-vae") is not None
    with pytest.raises(ReferenceModelError, match=r"VAE beta is 1\.0 here, 4\.0 in the shipped model"):
        load_reference(vae(1.0), "toy-vae")


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp/served."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    thread.join()


@pytest.fixture
def only_the_manifest(shipped, server, tmp_path, monkeypatch):
    """As in a pip install: the manifest is here, the files are on the server."""
    model, folder = shipped
    served, url = server
    for name in ("toy.keras", "toy.history.json"):
        (folder / name).rename(served / name)
    monkeypatch.setenv("AE_MODELS_URL", url)
    monkeypatch.setenv("AE_MODELS_CACHE", str(tmp_path / "cache"))
    return model, served


def test_files_absent_here_are_downloaded_and_checked(only_the_manifest, tmp_path):
    model, _ = only_the_manifest
    fresh = tiny_model()
    assert load_reference(fresh, "toy") is not None
    np.testing.assert_array_equal(fresh.get_weights()[0], model.get_weights()[0])
    cached = tmp_path / "cache" / "aehelpers-models" / "toy.keras"
    assert shipped_file("toy") == cached and sha256_of_file(cached) == manifest()["models"]["toy"]["sha256"]


@pytest.mark.parametrize("damage", ["truncated", "altered", "missing"])
def test_a_bad_download_names_the_file_and_says_how_to_train(only_the_manifest, damage):
    _, served = only_the_manifest
    data = (served / "toy.keras").read_bytes()
    if damage == "truncated":
        (served / "toy.keras").write_bytes(data[: len(data) // 2])
    elif damage == "altered":
        (served / "toy.keras").write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    else:
        (served / "toy.keras").unlink()
    with pytest.raises(ReferenceModelError, match=r"Could not get the reference file toy\.keras from http://127\.0\.0\.1.*AE_PROFILE=full"):
        load_reference(tiny_model(), "toy")


def test_a_missing_manifest_is_an_error_not_a_silent_training(shipped, monkeypatch, tmp_path):
    monkeypatch.setenv("AE_MODELS_DIR", str(tmp_path / "not-the-models"))
    with pytest.raises(ReferenceModelError, match="cannot be read.*AE_MODELS_DIR"):
        load_reference(tiny_model(), "toy")


def test_a_readers_own_full_run_does_not_replace_the_books_model(shipped, monkeypatch):
    _, folder = shipped
    before = (folder / "manifest.json").read_text()
    monkeypatch.setenv("AE_PROFILE", "full")
    monkeypatch.delenv("AE_SHIP")
    x = np.random.default_rng(1).random((64, 6)).astype("float32")
    tiny_model().fit(x, x, epochs=4, verbose=0, callbacks=resumable("toy-mine", progress=False))
    assert (folder / "manifest.json").read_text() == before and not (folder / "toy-mine.keras").exists()


def test_a_later_chapter_gets_a_frozen_copy(shipped):
    from aehelpers.reference import reference_model

    model, _ = shipped
    loaded = reference_model("toy")
    assert not loaded.trainable and loaded.count_params() == model.count_params()
