import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from aehelpers.flops import cpu_peak_gflops
from aehelpers.records import device_description, load_results, save_results
from aehelpers.training import CompactProgress, EpochLog, resumable, run_dir

# A tiny regression trained full-batch without shuffling: deterministic, so an interrupted
# and resumed run must end where an uninterrupted one does.
SCRIPT = textwrap.dedent(
    """
    import os, sys
    import keras, numpy as np
    import aehelpers as ae

    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).random((64, 8)).astype("float32")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(8)])
    model.compile(optimizer="rmsprop", loss="mse")

    class KillAfter(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 == int(os.environ.get("KILL_AFTER", "0")):
                os.kill(os.getpid(), 9)

    history = model.fit(x, x, epochs=6, batch_size=64, shuffle=False, verbose=0,
                        callbacks=ae.resumable("toy") + [KillAfter()])
    print("LOSSES", history.history["loss"])
    """
)


def train(tmp_path, runs, kill_after=0):
    env = {**os.environ, "AE_RUNS_DIR": str(runs), "AE_PROFILE": "full", "KILL_AFTER": str(kill_after),
           "AE_MODELS_DIR": str(tmp_path / "models")}
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    return subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True)


def started_log(folder):
    """An EpochLog of a run folder, begun as fit begins it."""
    log = EpochLog(folder)
    log.set_model(keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)]))
    log.set_params({"steps": 1})
    log.on_train_begin()
    return log


def losses(result):
    line = next(line for line in result.stdout.splitlines() if line.startswith("LOSSES"))
    return json.loads(line.split(" ", 1)[1])


def test_killed_training_resumes_without_losing_an_epoch(tmp_path):
    reference = losses(train(tmp_path, tmp_path / "uninterrupted"))

    killed = train(tmp_path, tmp_path / "interrupted", kill_after=3)
    assert killed.returncode == -9  # really killed, mid-run
    log = json.loads((tmp_path / "interrupted/full/toy/history.json").read_text())
    assert len(log) == 3
    assert all(e["seconds"] > 0 and e["cpu_seconds"] > 0 for e in log)  # wall and CPU time of each epoch

    resumed = train(tmp_path, tmp_path / "interrupted")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after epoch 3" in resumed.stdout
    assert "epoch   3/6" not in resumed.stdout and "epoch   4/6" in resumed.stdout
    resumed_losses = losses(resumed)
    assert len(resumed_losses) == 6  # the returned History covers the whole run
    np.testing.assert_allclose(resumed_losses[:3], [e["loss"] for e in log], rtol=1e-6)
    np.testing.assert_allclose(resumed_losses, reference, rtol=1e-5)
    sessions = json.loads((tmp_path / "interrupted/full/toy/trained_on.json").read_text())
    assert [(s["first_epoch"], s["last_epoch"]) for s in sessions] == [(1, 3), (4, 6)]
    assert all(s["device"] == device_description() and s["backend"] == keras.backend.backend() for s in sessions)


def test_a_completed_run_is_restored_not_retrained(tmp_path):
    runs = tmp_path / "runs"
    first = losses(train(tmp_path, runs))
    second = train(tmp_path, runs)
    assert "restored a completed run of 6 epochs" in second.stdout
    assert "(0." not in second.stdout and "s)" not in second.stdout  # no epoch was trained (no timings)
    assert "epoch   6/6  loss" in second.stdout  # the stored log is shown again
    assert losses(second) == first


def test_a_changed_model_is_not_resumed_from_another_models_backup(tmp_path):
    runs = tmp_path / "runs"
    train(tmp_path, runs, kill_after=2)
    script = (tmp_path / "train.py").read_text().replace("Dense(4,", "Dense(5,")
    (tmp_path / "train.py").write_text(script)
    env = {**os.environ, "AE_RUNS_DIR": str(runs), "AE_PROFILE": "full", "AE_MODELS_DIR": str(tmp_path / "models")}
    result = subprocess.run([sys.executable, str(tmp_path / "train.py")], env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "holds a run of a different model or recipe" in result.stderr and "layers" in result.stderr


def test_a_changed_activation_is_not_resumed_either(tmp_path):
    runs = tmp_path / "runs"
    train(tmp_path, runs, kill_after=2)
    script = (tmp_path / "train.py").read_text().replace('activation="relu"', 'activation="tanh"')
    (tmp_path / "train.py").write_text(script)  # same weight shapes, another model
    env = {**os.environ, "AE_RUNS_DIR": str(runs), "AE_PROFILE": "full", "AE_MODELS_DIR": str(tmp_path / "models")}
    result = subprocess.run([sys.executable, str(tmp_path / "train.py")], env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "holds a run of a different model or recipe (its layer_settings differ" in result.stderr


def test_fingerprint_ignores_names_and_accepts_a_run_json_from_before_a_field(tmp_path):
    from aehelpers.training import fingerprint

    def model():
        inputs = keras.Input((6, 3))
        outputs = keras.layers.TimeDistributed(keras.layers.Dense(2))(inputs)
        built = keras.Model(inputs, outputs)
        built.compile(optimizer="adam", loss="mse")
        return built

    first, second = model(), model()  # the second's layers are numbered differently
    assert fingerprint(first, 10) == fingerprint(second, 10)
    folder = tmp_path / "run"
    (folder / "backup").mkdir(parents=True)
    (folder / "backup" / "latest.weights.h5").write_bytes(b"")
    older = {k: v for k, v in fingerprint(first, 10).items() if k not in ("layer_settings", "loss")}
    (folder / "run.json").write_text(json.dumps(older))
    guard = EpochLog(folder)
    guard.set_model(second)
    guard.set_params({"steps": 10})
    guard.on_train_begin()  # accepted: the fields it has agree
    assert "layer_settings" in json.loads((folder / "run.json").read_text())


def test_run_dir_separates_profiles_and_refuses_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("AE_RUNS_DIR", str(tmp_path))
    monkeypatch.setenv("AE_PROFILE", "quick")
    assert run_dir("01-basic") == tmp_path / "quick" / "01-basic"
    monkeypatch.setenv("AE_PROFILE", "full")
    assert run_dir("01-basic") == tmp_path / "full" / "01-basic"
    monkeypatch.setenv("AE_PROFILE", "reference")  # trains what is not shipped with the full recipe
    assert run_dir("01-basic") == tmp_path / "full" / "01-basic"
    for bad in ("", "../x", "a/b", ".hidden"):
        with pytest.raises(ValueError, match="plain name"):
            run_dir(bad)


def test_epoch_log_drops_stale_epochs_of_an_older_run(tmp_path):
    path = tmp_path / "history.json"
    path.write_text(json.dumps([{"loss": 9.0, "seconds": 1.0}] * 5))
    log = started_log(tmp_path)
    log.on_epoch_begin(0)
    log.on_epoch_end(0, {"loss": 1.0})
    assert [e["loss"] for e in json.loads(path.read_text())] == [1.0]


def test_trained_on_keeps_the_sessions_before_a_resumed_epoch_and_drops_the_rest(tmp_path):
    path = tmp_path / "history.json"
    path.write_text(json.dumps([{"loss": 9.0, "seconds": 1.0}] * 5))
    older = [{"first_epoch": 1, "last_epoch": 2, "device": "A"}, {"first_epoch": 3, "last_epoch": 5, "device": "B"}]
    (tmp_path / "trained_on.json").write_text(json.dumps(older))
    log = started_log(tmp_path)
    for epoch in (3, 4):  # resumed after epoch 3 of the older run
        log.on_epoch_begin(epoch)
        log.on_epoch_end(epoch, {"loss": 1.0})
    sessions = json.loads((tmp_path / "trained_on.json").read_text())
    assert [(s["first_epoch"], s["last_epoch"], s["device"]) for s in sessions] == [
        (1, 2, "A"), (3, 3, "B"), (4, 5, device_description())]


def test_metrics_of_some_epochs_only_are_kept_and_the_best_epoch_skips_the_gaps(full_run_in_tmp):
    x = np.random.default_rng(0).random((32, 4)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, x, epochs=5, validation_data=(x, x), validation_freq=2, verbose=0,
                        callbacks=resumable("toy", progress=False))
    val = history.history["val_loss"]  # validated after epochs 2 and 4 only
    assert len(val) == 5 and np.isnan(val[0]) and not np.isnan(val[1]) and np.isnan(val[4])
    record = save_results("toy", history)
    assert record["best_epoch"] in (2, 4) and record["best_val_loss"] == min(val[1], val[3])
    assert record["final_val_loss"] == val[3]
    assert [(s["first_epoch"], s["last_epoch"]) for s in record["trained_on"]] == [(1, 5)]


def test_a_record_takes_the_peak_from_the_log_or_measures_it_on_the_machine_that_trained(full_run_in_tmp):
    x = np.random.default_rng(0).random((32, 4)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, x, epochs=2, verbose=0, callbacks=resumable("toy", progress=False))
    sessions_file = run_dir("toy") / "trained_on.json"
    logged = json.loads(sessions_file.read_text())
    sessions_file.write_text(json.dumps([dict(logged[0], cpu_peak_gflops=123.0)]))
    assert save_results("toy", history)["cpu_peak_gflops"] == 123.0
    older = {k: v for k, v in logged[0].items() if k != "cpu_peak_gflops"}  # logs written before the peak was
    sessions_file.write_text(json.dumps([older]))
    assert save_results("toy", history)["cpu_peak_gflops"] == cpu_peak_gflops()
    sessions_file.write_text(json.dumps([dict(older, device="CPU: another machine, 64 cores")]))
    assert save_results("toy", history)["cpu_peak_gflops"] is None


def test_epoch_log_refuses_to_resume_past_the_epochs_it_holds(tmp_path):
    path = tmp_path / "history.json"
    path.write_text(json.dumps([{"loss": 9.0, "seconds": 1.0}] * 2))
    log = started_log(tmp_path)
    with pytest.raises(RuntimeError, match="holds 2 epochs, but training resumes after epoch 4"):
        log.on_epoch_begin(4)


def test_compact_progress_prints_about_ten_lines(capsys):
    progress = CompactProgress()
    progress.set_params({"epochs": 100})
    for epoch in range(100):
        progress.on_epoch_begin(epoch)
        progress.on_epoch_end(epoch, {"loss": 0.5})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 11 and lines[0].startswith("epoch   1/100") and lines[-1].startswith("epoch 100/100")


def test_only_the_reference_profile_writes_the_books_records(tmp_path, monkeypatch):
    monkeypatch.setenv("AE_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("AE_RESULTS_DIR", str(tmp_path / "results"))
    history = {"loss": [0.5, 0.4], "val_loss": [0.45, 0.46]}
    monkeypatch.setenv("AE_PROFILE", "quick")
    save_results("toy", history)
    assert not (tmp_path / "results").exists()
    assert json.loads((tmp_path / "runs/quick/toy/results.json").read_text())["profile"] == "quick"
    monkeypatch.setenv("AE_PROFILE", "full")  # a retraining: the book keeps its numbers until the page is re-made
    save_results("toy", history)
    assert not (tmp_path / "results").exists()
    assert json.loads((tmp_path / "runs/full/toy/results.json").read_text())["profile"] == "full"

    monkeypatch.setenv("AE_PROFILE", "reference")
    monkeypatch.setenv("AE_MODELS_DIR", str(tmp_path / "models"))  # toy is not shipped there
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "manifest.json").write_text('{"base_url": null, "models": {}}')
    record = save_results("toy", history, floor=np.float32(0.25))  # NumPy numbers are stored as plain ones
    stored = json.loads((tmp_path / "results/toy.json").read_text())
    assert stored == record
    assert record["best_val_loss"] == 0.45 and record["best_epoch"] == 1 and record["final_val_loss"] == 0.46
    assert record["floor"] == 0.25 and type(record["floor"]) is float and record["epochs"] == 2 and record["backend"] == keras.backend.backend()
    assert record["seconds"] is None  # no epoch log of this run: no invented timings
    log = tmp_path / "runs/full/toy-second-model/history.json"
    log.parent.mkdir(parents=True)
    log.write_text(json.dumps([{"loss": 0.5, "seconds": 3.0}, {"loss": 0.4, "seconds": 5.0}]))
    timed = save_results("toy", history, run="toy-second-model")
    assert timed["seconds"] == 8.0 and timed["seconds_per_epoch"] == 4.0
    with pytest.raises(ValueError, match="no 'loss'"):
        save_results("toy", {})
    with pytest.raises(ValueError, match="fills epochs itself"):
        save_results("toy", history, epochs=3)


def test_resumable_returns_keras_callbacks(tmp_path, monkeypatch):
    monkeypatch.setenv("AE_RUNS_DIR", str(tmp_path))
    monkeypatch.setenv("AE_PROFILE", "reference")
    kinds = [type(c).__name__ for c in resumable("toy", best_weights=True)]
    assert kinds == ["EpochLog", "CompactProgress", "BestWeights", "BackupAndRestore"]
    monkeypatch.setenv("AE_PROFILE", "full")  # a reader's own full run: kept in its run folder only
    monkeypatch.delenv("AE_SHIP", raising=False)
    kinds = [type(c).__name__ for c in resumable("toy", best_weights=True)]
    assert kinds == ["EpochLog", "CompactProgress", "BestWeights", "BackupAndRestore"]
    monkeypatch.setenv("AE_SHIP", "1")  # make full: the run ships its model when it ends
    kinds = [type(c).__name__ for c in resumable("toy", best_weights=True)]
    assert kinds == ["EpochLog", "CompactProgress", "BestWeights", "ShipModel", "BackupAndRestore"]


def test_best_weights_without_the_monitored_metric_stops_with_a_clear_error(full_run_in_tmp):
    x = np.zeros((8, 4), "float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="does not log it.*validation_data"):
        model.fit(x, x, epochs=2, verbose=0, callbacks=resumable("toy", best_weights=True))


def test_device_description_names_a_device():
    assert device_description().split(":")[0] in {"CPU", "GPU", "TPU"}


def test_load_results_reads_full_records_only(tmp_path, monkeypatch):
    monkeypatch.setenv("AE_RESULTS_DIR", str(tmp_path))
    assert load_results("missing") is None
    (tmp_path / "toy.json").write_text('{"profile": "full", "final_val_loss": 0.3}')
    assert load_results("toy")["final_val_loss"] == 0.3


DETERMINISM = textwrap.dedent(
    """
    import json
    import keras, numpy as np
    import aehelpers  # noqa: F401  (quiet start)

    keras.utils.set_random_seed(11)
    x = np.random.default_rng(0).random((256, 64)).astype("float32")
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(64, activation="sigmoid")])
    model.compile(optimizer="rmsprop", loss="binary_crossentropy")
    history = model.fit(x, x, epochs=3, batch_size=32, shuffle=True, verbose=0)
    print(json.dumps(history.history["loss"]))
    """
)


def test_same_seed_gives_identical_losses_on_the_cpu():
    cpu_only = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # GPU kernels need not be bit-identical
    runs = [
        subprocess.run([sys.executable, "-c", DETERMINISM], capture_output=True, text=True, check=True, env=cpu_only).stdout
        for _ in range(2)
    ]
    first, second = (json.loads(run.strip().splitlines()[-1]) for run in runs)
    assert first == second  # bit for bit, shuffling included


def test_epoch_seconds_survive_a_kill(tmp_path, monkeypatch):
    from aehelpers.training import epoch_seconds

    runs = tmp_path / "runs"
    train(tmp_path, runs, kill_after=2)
    train(tmp_path, runs)
    monkeypatch.setenv("AE_RUNS_DIR", str(runs))
    monkeypatch.setenv("AE_PROFILE", "full")
    seconds = epoch_seconds("toy")
    assert len(seconds) == 6 and all(s > 0 for s in seconds)
    with pytest.raises(FileNotFoundError, match="ae.resumable"):
        epoch_seconds("never-trained")
