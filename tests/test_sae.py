"""TopK, checked by hand."""

import keras
import numpy as np
import pytest
from keras import layers, ops

from aehelpers.sae import TopK


def test_top_k_keeps_the_k_largest_of_each_row():
    latents = np.array([[0.5, 3.0, 0.0, 2.0, 1.0], [4.0, 0.1, 0.2, 0.3, 0.0]], "float32")
    kept = ops.convert_to_numpy(TopK(2)(latents))
    expected = np.array([[0.0, 3.0, 0.0, 2.0, 0.0], [4.0, 0.0, 0.0, 0.3, 0.0]], "float32")
    np.testing.assert_array_equal(kept, expected)  # kept values pass through unchanged, bit for bit


def test_top_k_lets_the_gradient_through_the_kept_latents_only():
    keras.utils.set_random_seed(0)
    x = keras.Input((3,))
    model = keras.Model(x, TopK(1)(layers.Dense(4)(x)))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = model.layers[1].get_weights()[0].copy()
    inputs = np.array([[1.0, 0.0, 0.0]], "float32")
    winner = int(np.argmax(inputs @ before))
    model.fit(inputs, np.ones((1, 4), "float32"), epochs=1, verbose=0)
    changed = ~np.isclose(before, model.layers[1].get_weights()[0]).all(axis=0)
    assert changed.tolist() == [i == winner for i in range(4)]


def test_a_k_below_one_is_refused():
    with pytest.raises(ValueError, match="positive integer"):
        TopK(0)


def test_top_k_saves_and_loads_in_safe_mode(tmp_path):
    x = keras.Input((6,))
    model = keras.Model(x, layers.Dense(2)(TopK(3)(layers.Dense(8, activation="relu")(x))))
    model.save(tmp_path / "sae.keras")
    loaded = keras.saving.load_model(tmp_path / "sae.keras", safe_mode=True)
    data = np.random.default_rng(0).normal(size=(4, 6)).astype("float32")
    np.testing.assert_allclose(ops.convert_to_numpy(loaded(data)), ops.convert_to_numpy(model(data)), rtol=1e-6)
