"""The masked autoencoder's layers and loss, checked by hand."""

import keras
import numpy as np
import pytest
from keras import layers, ops

from aehelpers.mae import MaskedAutoencoder, Patches, PatchEmbedding, RandomMasking


def test_patches_are_cut_in_raster_order():
    image = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    patches = ops.convert_to_numpy(Patches(2)(image))
    assert patches[0].tolist() == [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]


def test_masking_keeps_a_quarter_of_the_tokens_and_says_how_to_put_them_back():
    tokens = np.arange(2 * 8 * 3, dtype="float32").reshape(2, 8, 3)
    visible, restore = RandomMasking(0.75, seed=1)(tokens)
    visible, restore = ops.convert_to_numpy(visible), ops.convert_to_numpy(restore)
    assert visible.shape == (2, 2, 3)
    for item in range(2):
        assert sorted(restore[item].tolist()) == list(range(8))  # a permutation
        kept_positions = np.flatnonzero(restore[item] < 2)
        # The visible tokens are the originals at the kept positions, in the order restore gives them.
        for position in kept_positions:
            np.testing.assert_array_equal(visible[item, restore[item, position]], tokens[item, position])


def test_masking_draws_anew_each_call_and_repeats_with_its_seed():
    tokens = np.zeros((4, 16, 1), "float32")
    first, second = RandomMasking(0.5, seed=3), RandomMasking(0.5, seed=3)
    a, b, c = (ops.convert_to_numpy(layer(tokens)[1]) for layer in (first, first, second))
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_no_masking_keeps_every_token_in_order():
    tokens = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    visible, restore = RandomMasking(0.0, seed=0)(tokens)
    np.testing.assert_array_equal(ops.convert_to_numpy(visible), tokens)
    assert ops.convert_to_numpy(restore).tolist() == [list(range(5))] * 2


def test_a_mask_ratio_of_one_is_refused():
    with pytest.raises(ValueError, match="mask_ratio"):
        RandomMasking(1.0)


def tiny_mae(mask_ratio=0.75):
    keras.utils.set_random_seed(0)
    tokens = keras.Input((None, 8))
    encoder = keras.Model(tokens, layers.Dense(8, activation="relu")(tokens))
    full = keras.Input((49, 6))
    decoder = keras.Model(full, layers.Dense(16)(full))
    return MaskedAutoencoder(encoder, decoder, patch_size=4, mask_ratio=mask_ratio, seed=5)


def images(n=3):
    return np.random.default_rng(1).uniform(size=(n, 28, 28, 1)).astype("float32")


def test_the_loss_is_the_squared_error_on_the_hidden_patches_only():
    mae = tiny_mae()
    predicted, hidden = mae(images())
    predicted, hidden = ops.convert_to_numpy(predicted), ops.convert_to_numpy(hidden)
    assert hidden.shape == (3, 49) and hidden.sum(axis=1).tolist() == [37.0] * 3  # 12 of 49 kept
    targets = ops.convert_to_numpy(Patches(4)(images()))
    by_hand = ((predicted - targets) ** 2).mean(axis=-1)[hidden == 1].mean()
    loss = mae.compute_loss(images(), None, (predicted, hidden))
    assert float(ops.convert_to_numpy(loss)) == pytest.approx(by_hand, rel=1e-5)
    changed = predicted + 10.0 * (1 - hidden)[..., None]  # wrong only where the encoder could see
    assert float(ops.convert_to_numpy(mae.compute_loss(images(), None, (changed, hidden)))) == pytest.approx(by_hand, rel=1e-5)


def test_the_mae_trains_saves_and_loads_in_safe_mode(tmp_path):
    mae = tiny_mae()
    mae.compile(optimizer="adam")
    history = mae.fit(images(8), epochs=2, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    mae.save(tmp_path / "mae.keras")
    loaded = keras.saving.load_model(tmp_path / "mae.keras", safe_mode=True)
    assert isinstance(loaded, MaskedAutoencoder) and loaded.mask_ratio == 0.75
    np.testing.assert_allclose(ops.convert_to_numpy(loaded.features(images())),
                               ops.convert_to_numpy(mae.features(images())), rtol=1e-5, atol=1e-6)


def test_an_embedding_adds_a_position_to_each_patch():
    embedding = PatchEmbedding(4, 3)
    embedding.build((None, 4, 2))
    same_patches = np.ones((1, 4, 2), "float32")
    out = ops.convert_to_numpy(embedding(same_patches))
    assert not np.allclose(out[0, 0], out[0, 1])  # equal patches, different places


def test_the_decoder_gets_each_encoded_patch_in_its_place_and_the_mask_token_elsewhere():
    # Identity encoder and decoder, an identity map between them and no decoder positions:
    # the output is then what the decoder was given.
    tokens, all_tokens = keras.Input((None, 16)), keras.Input((49, 16))
    encoder = keras.Model(tokens, layers.Identity()(tokens))
    decoder = keras.Model(all_tokens, layers.Identity()(all_tokens))
    mae = MaskedAutoencoder(encoder, decoder, patch_size=4, mask_ratio=0.75, seed=0)
    mae.to_decoder.set_weights([np.eye(16, dtype="float32"), np.zeros(16, "float32")])
    mae.decoder_position.set_weights([np.zeros((49, 16), "float32")])
    mae.mask_token.assign(np.full(16, 7.0, "float32"))
    x = images()
    given, hidden = (ops.convert_to_numpy(t) for t in mae(x))
    embedded = ops.convert_to_numpy(mae.embedding(mae.patches(x)))
    hidden = hidden.astype(bool)
    assert hidden.sum() == 3 * 37
    np.testing.assert_array_equal(given[hidden], 7.0)
    np.testing.assert_allclose(given[~hidden], embedded[~hidden], atol=1e-6)


def test_a_ratio_that_hides_every_token_is_refused():
    with pytest.raises(ValueError, match="hides all 49 tokens"):
        RandomMasking(0.99, seed=0)(np.zeros((1, 49, 4), "float32"))
