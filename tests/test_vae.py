import keras
import numpy as np
import pytest
from keras import layers

from aehelpers.vae import VAE, Sampling, kl_divergence, reconstruction_loss


def tiny_vae(seed=0, latent_dim=2, certain=False, beta=1.0):
    x = keras.Input((784,))
    h = layers.Dense(16, activation="relu")(x)
    log_var, pixel_bias = layers.Dense(latent_dim), "zeros"
    if certain:  # log variance -30: the sampled z is z_mean to float precision
        log_var = layers.Dense(latent_dim, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(-30.0))
        pixel_bias = keras.initializers.RandomNormal(stddev=2.0, seed=1)  # pixel means far from 1/2
    encoder = keras.Model(x, [layers.Dense(latent_dim)(h), log_var(h)], name="enc")
    z = keras.Input((latent_dim,))
    decoder = keras.Model(z, layers.Dense(784, activation="sigmoid", bias_initializer=pixel_bias)(z), name="dec")
    return VAE(encoder, decoder, seed=seed, beta=beta)


def test_kl_matches_the_closed_form_by_hand():
    mean = np.array([[0.0, 0.0], [1.0, -2.0]], "float32")
    log_var = np.array([[0.0, 0.0], [np.log(4.0), 0.0]], "float32")
    expected = [0.0, 0.5 * ((4 - np.log(4) - 1 + 1) + (0 + 4))]  # 1/2 sum(var + mu^2 - 1 - log var)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(kl_divergence(mean, log_var)), expected, rtol=1e-6)


def test_reconstruction_loss_is_bce_summed_over_pixels(images):
    outputs = np.clip(images[::-1], 0.05, 0.95)
    by_hand = -(images * np.log(outputs) + (1 - images) * np.log(1 - outputs)).sum(axis=1)
    got = keras.ops.convert_to_numpy(reconstruction_loss(images, outputs))
    np.testing.assert_allclose(got, by_hand, rtol=1e-4)
    got_images = reconstruction_loss(images.reshape(-1, 28, 28, 1), outputs.reshape(-1, 28, 28, 1))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(got_images), by_hand, rtol=1e-4)


def test_sampling_is_seeded_and_has_the_right_moments():
    mean = np.full((20000, 2), [1.0, -1.0], "float32")
    log_var = np.full((20000, 2), [0.0, np.log(0.25)], "float32")
    a = keras.ops.convert_to_numpy(Sampling(seed=3)([mean, log_var]))
    b = keras.ops.convert_to_numpy(Sampling(seed=3)([mean, log_var]))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a.mean(axis=0), [1.0, -1.0], atol=0.03)
    np.testing.assert_allclose(a.std(axis=0), [1.0, 0.5], atol=0.03)  # exp(log_var / 2)


def test_vae_metrics_are_the_real_terms(images):
    vae = tiny_vae()
    vae.compile(optimizer="rmsprop")
    logs = vae.evaluate(images, verbose=0, batch_size=len(images), return_dict=True)
    z_mean, z_log_var = (keras.ops.convert_to_numpy(t) for t in vae.encoder(images))
    by_hand = np.mean(-0.5 * np.sum(1 + z_log_var - z_mean**2 - np.exp(z_log_var), axis=1))
    assert logs["kl_loss"] == pytest.approx(by_hand, rel=1e-5)
    assert logs["loss"] == pytest.approx(logs["reconstruction_loss"] + logs["kl_loss"], rel=1e-5)


def test_vae_terms_add_up_to_the_loss_when_the_last_batch_is_short(images):
    vae = tiny_vae(certain=True)  # z = z_mean: the terms depend on the images, not the noise
    vae.compile(optimizer="rmsprop")
    batch_size = len(images) // 2 + 1  # two batches, the second almost half as large
    logs = vae.evaluate(images, verbose=0, batch_size=batch_size, return_dict=True)
    assert logs["loss"] == pytest.approx(logs["reconstruction_loss"] + logs["kl_loss"], rel=1e-5)
    whole = vae.evaluate(images, verbose=0, batch_size=len(images), return_dict=True)
    for name in ("loss", "reconstruction_loss", "kl_loss"):  # the mean over all images
        assert logs[name] == pytest.approx(whole[name], rel=1e-5)


def test_vae_reconstruction_metric_is_the_bce_of_the_decoded_mean_against_the_input(images):
    vae = tiny_vae(certain=True)
    vae.compile(optimizer="rmsprop")
    logs = vae.evaluate(images, verbose=0, batch_size=len(images), return_dict=True)
    z_mean, _ = vae.encoder(images)
    decoded = np.clip(keras.ops.convert_to_numpy(vae.decoder(z_mean)), 1e-7, 1 - 1e-7)
    by_hand = -(images * np.log(decoded) + (1 - images) * np.log(1 - decoded)).sum(axis=1).mean()
    assert logs["reconstruction_loss"] == pytest.approx(by_hand, rel=1e-4)
    # With pixel means far from 1/2, a metric that compared the output with itself (its
    # entropy) would be far lower: the check above can tell the two apart.
    own_entropy = -(decoded * np.log(decoded) + (1 - decoded) * np.log(1 - decoded)).sum(axis=1).mean()
    assert own_entropy < 0.9 * by_hand


def test_vae_fit_reports_both_terms_for_training_and_validation(images):
    keras.utils.set_random_seed(0)
    vae = tiny_vae()
    vae.compile(optimizer="rmsprop")
    history = vae.fit(images, epochs=2, batch_size=4, validation_data=(images,), verbose=0)
    for name in ("loss", "reconstruction_loss", "kl_loss"):
        assert len(history.history[name]) == 2 and len(history.history["val_" + name]) == 2
    assert history.history["loss"][1] < history.history["loss"][0]


def test_a_beta_vae_weighs_the_kl_term_and_a_changed_beta_takes_effect_after_recompiling(images):
    vae = tiny_vae(beta=4.0)
    vae.compile(optimizer="rmsprop")
    logs = vae.evaluate(images, verbose=0, batch_size=len(images), return_dict=True)
    assert logs["loss"] == pytest.approx(logs["reconstruction_loss"] + 4.0 * logs["kl_loss"], rel=1e-5)
    vae.beta = 0.5
    vae.make_test_function(force=True)
    logs = vae.evaluate(images, verbose=0, batch_size=len(images), return_dict=True)
    assert logs["loss"] == pytest.approx(logs["reconstruction_loss"] + 0.5 * logs["kl_loss"], rel=1e-5)


def test_a_negative_beta_is_refused():
    with pytest.raises(ValueError, match="beta"):
        tiny_vae(beta=-1.0)


def test_vae_saves_and_loads_in_safe_mode(tmp_path, images):
    vae = tiny_vae(seed=7, beta=2.0)
    vae.compile(optimizer="rmsprop")
    vae.fit(images, epochs=1, batch_size=4, verbose=0)
    path = tmp_path / "vae.keras"
    vae.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, VAE) and isinstance(loaded.sampling, Sampling) and loaded.seed == 7 and loaded.beta == 2.0
    for original, restored in zip(vae.encoder(images), loaded.encoder(images)):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(original), keras.ops.convert_to_numpy(restored), rtol=1e-6
        )


def test_vae_is_built_at_once_trains_with_resumable_callbacks_and_ships(images, full_run_in_tmp, fashion):
    import aehelpers as ae
    from aehelpers.data import to_layout
    from aehelpers.reference import manifest

    vae = tiny_vae()
    assert vae.built
    vae.compile(optimizer="rmsprop")
    history = vae.fit(images, epochs=2, batch_size=4, verbose=0, callbacks=ae.resumable("toy-vae"))
    assert len(history.history["kl_loss"]) == 2
    # The shipped figure is a one-sample test -ELBO that a fresh load of the file repeats.
    figure = manifest()["models"]["toy-vae"]["test_figure"]
    loaded = keras.saving.load_model(full_run_in_tmp / "models" / "toy-vae.keras", safe_mode=True)
    loaded.compile()
    x_test = to_layout(fashion[1][0], "flat")
    assert loaded.evaluate(x_test, batch_size=128, verbose=0, return_dict=True)["loss"] == pytest.approx(figure["value"], abs=1e-3)
