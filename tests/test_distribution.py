"""Data-parallel training on two simulated CPU devices (JAX backend, Keras' distribution API)."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

SCRIPT = textwrap.dedent(
    """
    import json, os
    os.environ["KERAS_BACKEND"] = "jax"
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    import jax, keras, numpy as np
    from keras import layers

    shards = []

    class ShardProbe(layers.Layer):
        # Records, at compile time, how the batch reaching the model is laid out.
        def call(self, x):
            shape = tuple(x.shape)
            jax.debug.inspect_array_sharding(
                x, callback=lambda s: shards.append([list(s.shard_shape(shape)), len(s.device_set)])
            )
            return x

    def train():
        keras.utils.set_random_seed(3)
        inputs = keras.Input((784,))
        code = layers.Dense(16, activation="relu")(ShardProbe()(inputs))
        model = keras.Model(inputs, layers.Dense(784, activation="sigmoid")(code))
        model.compile(optimizer="rmsprop", loss="binary_crossentropy")
        x = np.random.default_rng(0).random((512, 784)).astype("float32")
        return model.fit(x, x, epochs=3, batch_size=64, shuffle=False, verbose=0).history["loss"]

    single = train()
    single_shards, shards[:] = list(shards), []
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=keras.distribution.list_devices("cpu")))
    parallel = train()
    print(json.dumps({"devices": len(jax.devices()), "single": single, "parallel": parallel,
                      "single_shards": single_shards, "parallel_shards": shards}))
    """
)


@pytest.fixture(scope="module")
def result():
    import importlib.util

    if importlib.util.find_spec("jax") is None:
        pytest.fail("jax is not installed: `make test` installs it (pip install 'jax[cpu]')")
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "XLA_FLAGS")}
    run = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_two_devices_are_simulated(result):
    assert result["devices"] == 2


def test_each_device_gets_half_of_every_batch(result):
    assert [64, 784] in [shape for shape, _ in result["single_shards"]]  # one device: the whole batch
    assert result["parallel_shards"], "the probe saw no batch under DataParallel"
    for shape, devices in result["parallel_shards"]:
        assert devices == 2 and shape == [32, 784]


def test_data_parallel_losses_match_single_device_training(result):
    np.testing.assert_allclose(result["parallel"], result["single"], rtol=1e-5)
    assert result["single"][-1] < result["single"][0]  # it did train
