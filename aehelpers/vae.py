"""The two pieces every variational autoencoder of the book shares.

* :class:`Sampling` draws ``z = mu + exp(log_var / 2) * eps`` (the reparameterisation trick)
  with its own seeded generator, instead of the article's ``Lambda`` around a Python
  function, which a saved model stores by name only (and which used the ``keras.backend``
  functions that Keras 3 removed).
* :class:`VAE` wraps an encoder (``x -> (z_mean, z_log_var)``) and a decoder
  (``z -> x'``), and trains on the negative ELBO: a reconstruction term (binary
  cross-entropy summed over pixels) plus the closed-form KL divergence to N(0, I).
  Both terms are tracked as metrics of their own, for training and validation.

The encoder and decoder architectures stay in the chapters: they are the lesson.
Everything here is written with ``keras.ops`` and runs on TensorFlow, JAX and PyTorch.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

PACKAGE = "aehelpers"


def kl_divergence(z_mean: Any, z_log_var: Any) -> Any:
    """Return KL(N(mu, diag(exp(log_var))) || N(0, I)) per example, in closed form.

    ``-1/2 * sum_j (1 + log_var_j - mu_j**2 - exp(log_var_j))``, summed over the latent
    dimensions; shape ``(batch,)``.
    """
    z_mean, z_log_var = ops.convert_to_tensor(z_mean), ops.convert_to_tensor(z_log_var)
    return -0.5 * ops.sum(1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)


def reconstruction_loss(targets: Any, reconstructions: Any) -> Any:
    """Return the binary cross-entropy summed over all pixels of each example, shape ``(batch,)``.

    This is ``-log p(x | z)`` for a decoder whose outputs are the means of independent
    Bernoulli pixels, the article's ``original_dim * binary_crossentropy``.
    """
    targets, reconstructions = ops.convert_to_tensor(targets), ops.convert_to_tensor(reconstructions)
    batch = ops.shape(targets)[0]
    flat_targets = ops.reshape(targets, (batch, -1))
    flat_outputs = ops.reshape(reconstructions, (batch, -1))
    pixels = ops.shape(flat_targets)[1]
    mean_bce = keras.losses.binary_crossentropy(flat_targets, flat_outputs)
    return ops.cast(pixels, mean_bce.dtype) * mean_bce


@keras.saving.register_keras_serializable(package=PACKAGE)
class Sampling(keras.layers.Layer):
    """Draw ``z = z_mean + exp(z_log_var / 2) * eps`` with ``eps ~ N(0, I)``.

    Call it on ``[z_mean, z_log_var]``. The noise comes from a
    :class:`keras.random.SeedGenerator`, so a fixed ``seed`` gives the same draws on
    every run, and the layer saves and loads without any Python function inside.
    """

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs: list[Any]) -> Any:
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    def compute_output_shape(self, input_shape: list[tuple]) -> tuple:
        return tuple(input_shape[0])

    def get_config(self) -> dict:
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package=PACKAGE)
class VAE(keras.Model):
    """A variational autoencoder trained on the negative ELBO.

    Args:
        encoder: a model mapping ``x`` to ``[z_mean, z_log_var]``.
        decoder: a model mapping ``z`` to pixel means in [0, 1] shaped like ``x``.
        seed: seed of the :class:`Sampling` layer.
        beta: the weight of the KL term in the loss (1 for the ELBO; the beta-VAE's
            beta otherwise). A plain number, fixed when the model compiles its training
            step: to change it during training, set ``vae.beta`` and call
            ``vae.make_train_function(force=True)``.

    Calling the model encodes, samples ``z`` and decodes. Train it with
    ``vae.compile(optimizer=...)`` and ``vae.fit(x_train, validation_data=(x_test,))``:
    the target is the input itself unless a ``y`` is given. The logged metrics are
    ``loss`` (negative ELBO per example, or reconstruction + beta * KL when beta is not 1),
    ``reconstruction_loss`` and ``kl_loss``,
    and their ``val_`` counterparts. ``kl_loss`` also holds any regularisation losses of
    the encoder and decoder (the book's VAEs have none). Sample weights are not supported.
    """

    def __init__(
        self,
        encoder: keras.Model,
        decoder: keras.Model,
        seed: int | None = None,
        beta: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.sampling = Sampling(seed=seed, name="sampling")
        self.seed = seed
        if not beta >= 0:
            raise ValueError(f"beta, the weight of the KL term, must be 0 or more, got {beta}.")
        self.beta = float(beta)
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")
        if encoder.built and decoder.built:
            # All weights live in the (already built) encoder and decoder, so the VAE is
            # ready as soon as they are: callbacks such as BackupAndRestore need that.
            self.build(encoder.input_shape)

    def build(self, input_shape: Any = None) -> None:
        self.built = True

    def call(self, inputs: Any, training: bool = False) -> Any:
        z_mean, z_log_var = self.encoder(inputs, training=training)
        z = self.sampling([z_mean, z_log_var])
        # The KL term needs the encoder's outputs, which compute_loss does not see;
        # add_loss hands it over on every backend (JAX collects it statelessly).
        self.add_loss(ops.mean(kl_divergence(z_mean, z_log_var)))
        return self.decoder(z, training=training)

    def compute_loss(
        self,
        x: Any = None,
        y: Any = None,
        y_pred: Any = None,
        sample_weight: Any = None,
        training: bool = True,
    ) -> Any:
        if sample_weight is not None:
            raise ValueError("VAE does not support sample_weight: every example counts once in the ELBO.")
        targets = x if y is None else y
        reconstruction = ops.mean(reconstruction_loss(targets, y_pred))
        kl = ops.sum(ops.stack(self.losses))  # the KL added in call (plus any regulariser)
        # Weighted by batch size, as Keras weights its own loss tracker: otherwise a short
        # last batch counts as much as a full one and the two terms no longer add up to
        # the logged loss.
        batch_size = ops.shape(targets)[0]
        self.reconstruction_tracker.update_state(reconstruction, sample_weight=batch_size)
        self.kl_tracker.update_state(kl, sample_weight=batch_size)
        return reconstruction + self.beta * kl

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "seed": self.seed,
            "beta": self.beta,
        }

    @classmethod
    def from_config(cls, config: dict) -> "VAE":
        config = dict(config)
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"))
        decoder = keras.saving.deserialize_keras_object(config.pop("decoder"))
        return cls(encoder=encoder, decoder=decoder, **config)
