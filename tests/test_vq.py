"""The VQ-VAE's quantiser and the PixelCNN's masked convolution, checked by hand."""

import keras
import numpy as np
import pytest
from keras import layers, ops

from aehelpers.vq import MaskedConv2D, VectorQuantizer

CODEBOOK = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]], "float32")
POINTS = np.array([[[0.1, 0.1], [0.9, -0.2]], [[0.2, 1.5], [0.6, 0.0]]], "float32")  # (2, 2, 2): a 2-item batch


def quantizer():
    layer = VectorQuantizer(num_codes=3, code_dim=2)
    layer.build((None, 2, 2))
    layer.codebook.assign(CODEBOOK)
    return layer


def test_each_vector_goes_to_its_nearest_code():
    # (0.6, 0) is 0.36 from code 0 and 0.16 from code 1.
    indices = ops.convert_to_numpy(quantizer().code_indices(POINTS))
    assert indices.tolist() == [[0, 1], [2, 1]]


def test_the_output_is_the_code_and_the_losses_are_the_two_distances():
    layer = quantizer()
    outputs = ops.convert_to_numpy(layer(POINTS))
    np.testing.assert_allclose(outputs, CODEBOOK[[[0, 1], [2, 1]]], atol=1e-6)
    squared = np.mean((POINTS - CODEBOOK[[[0, 1], [2, 1]]]) ** 2)  # by hand: 0.0675
    codebook_loss, commitment_loss = (float(ops.convert_to_numpy(v)) for v in layer.losses)
    assert codebook_loss == pytest.approx(squared, rel=1e-5)
    assert commitment_loss == pytest.approx(0.25 * squared, rel=1e-5)


def test_the_encoder_before_the_quantiser_learns_through_it():
    keras.utils.set_random_seed(0)
    x = keras.Input((4,))
    encoded = layers.Reshape((2, 2))(layers.Dense(4, name="encoder")(x))
    model = keras.Model(x, layers.Flatten()(VectorQuantizer(8, 2)(encoded)))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = model.get_layer("encoder").get_weights()[0].copy()
    model.fit(np.ones((8, 4), "float32"), np.full((8, 4), 3.0, "float32"), epochs=1, batch_size=8, verbose=0)
    assert not np.allclose(before, model.get_layer("encoder").get_weights()[0])


@pytest.mark.parametrize("mask_type, centre_row", [("A", [1, 0, 0]), ("B", [1, 1, 0])])
def test_the_mask_hides_the_centre_only_for_type_a_and_always_what_comes_after(mask_type, centre_row):
    layer = MaskedConv2D(mask_type, 1, 3, padding="same")
    layer.build((None, 5, 5, 1))
    mask = ops.convert_to_numpy(layer.mask)[:, :, 0, 0]
    assert mask.tolist() == [[1, 1, 1], centre_row, [0, 0, 0]]


def test_a_masked_stack_never_sees_the_pixel_it_predicts_or_any_after_it():
    keras.utils.set_random_seed(1)
    x = keras.Input((5, 5, 1))
    h = MaskedConv2D("A", 4, 3, padding="same", activation="relu")(x)
    model = keras.Model(x, MaskedConv2D("B", 1, 3, padding="same")(h))
    base = np.random.default_rng(0).normal(size=(1, 5, 5, 1)).astype("float32")
    changed = base.copy()
    changed[0, 2, 2:] += 1.0  # the pixel (2, 2) and every one after it in raster order
    changed[0, 3:] += 1.0
    out_base, out_changed = (ops.convert_to_numpy(model(v)) for v in (base, changed))
    assert out_base[0, 2, 2] == pytest.approx(out_changed[0, 2, 2], abs=1e-6)
    assert not np.allclose(out_base[0, 2, 3], out_changed[0, 2, 3])  # a later pixel does see (2, 2)


def test_a_bad_mask_type_is_refused():
    with pytest.raises(ValueError, match='mask_type must be "A"'):
        MaskedConv2D("C", 1, 3)


def test_both_layers_save_and_load_in_safe_mode(tmp_path):
    keras.utils.set_random_seed(2)
    x = keras.Input((7, 7, 1))
    codes = VectorQuantizer(16, 4)(layers.Conv2D(4, 1)(x))
    model = keras.Model(x, MaskedConv2D("B", 3, 3, padding="same")(MaskedConv2D("A", 4, 3, padding="same")(codes)))
    images = np.random.default_rng(1).uniform(size=(2, 7, 7, 1)).astype("float32")
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_allclose(ops.convert_to_numpy(loaded(images)), ops.convert_to_numpy(model(images)), rtol=1e-6)
    assert [type(layer).__name__ for layer in loaded.layers].count("MaskedConv2D") == 2
