"""How likely a VAE finds an image: the importance-weighted estimate of log p(x).

The chapter "How good is a VAE?" derives and shows these two functions; they are kept
here, identical (a test compares the two sources), so that the unit tests can check them
against a model whose log-likelihood is known in closed form, and so that later chapters
can import them.

Written with ``keras.ops`` and ``keras.random``: they run on TensorFlow, JAX and PyTorch.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import keras
import numpy as np
from keras import ops

from aehelpers.vae import reconstruction_loss

LOG_2PI = math.log(2 * math.pi)


# The next two functions are shown verbatim in the chapter (a test compares the sources),
# so they are written as a reader would type them, without type hints.
def log_importance_weights(log_likelihood, z_mean, z_log_var, samples, seed):
    """log p(x|z) + log p(z) - log q(z|x) for `samples` draws z ~ q(z|x); shape (samples, batch)."""
    noise = keras.random.normal((samples, *ops.shape(z_mean)), seed=seed)
    z = z_mean + ops.exp(0.5 * z_log_var) * noise
    log_prior = -0.5 * ops.sum(ops.square(z) + LOG_2PI, axis=-1)
    log_posterior = -0.5 * ops.sum(ops.square(noise) + z_log_var + LOG_2PI, axis=-1)
    return log_likelihood(z) + log_prior - log_posterior


def importance_weighted_bound(log_weights):
    """log of the mean of the weights over the first axis, computed stably with logsumexp."""
    samples = ops.shape(log_weights)[0]
    return ops.logsumexp(log_weights, axis=0) - math.log(samples)


def bernoulli_log_likelihood(decoder: keras.Model, images: Any) -> Callable[[Any], Any]:
    """The function ``z -> log p(images | z)`` of a decoder with Bernoulli pixel means.

    It takes codes of shape ``(samples, batch, latent)`` and returns ``(samples, batch)``:
    minus the binary cross-entropy summed over pixels, the VAE's reconstruction term
    (:func:`aehelpers.vae.reconstruction_loss`), so that the estimate and the training loss
    use one likelihood.
    """
    images = ops.convert_to_tensor(images)

    def log_likelihood(z: Any) -> Any:
        samples, batch, latent = ops.shape(z)
        pixel_means = decoder(ops.reshape(z, (samples * batch, latent)))
        targets = ops.tile(images, (samples,) + (1,) * (len(images.shape) - 1))
        return -ops.reshape(reconstruction_loss(targets, pixel_means), (samples, batch))

    return log_likelihood


def grid_log_joint(
    decoder: keras.Model, images: np.ndarray, step: float, limit: float = 5.0, block: int = 4096
) -> tuple[np.ndarray, np.ndarray]:
    """log p(x, z) = log p(x | z) + log p(z) of each image on a square grid of two-dimensional codes.

    The grid has spacing ``step`` on ``[-limit, limit]**2`` and is decoded once, in blocks,
    whatever the number of images. Summing ``exp`` of the result times ``step**2`` over the
    grid is the integral ``p(x) = int p(x | z) p(z) dz`` as a Riemann sum, with no encoder
    involved. The likelihood is the one of :func:`bernoulli_log_likelihood` (pixel means
    clipped to ``[1e-7, 1 - 1e-7]``, as Keras' cross-entropy clips them).

    Returns:
        ``axis`` (the grid's coordinates along each latent dimension) and ``log_joint``,
        float32 of shape ``(images, len(axis), len(axis))``, where ``log_joint[n, i, j]``
        is at ``z = (axis[j], axis[i])``.
    """
    if decoder.input_shape[-1] != 2:
        raise ValueError(f"quadrature needs a two-dimensional code, the decoder takes {decoder.input_shape[-1]}.")
    if step <= 0 or limit <= 0:
        raise ValueError(f"step and limit must be positive, got step={step} and limit={limit}.")
    axis = np.arange(-limit, limit + step / 2, step)
    grid = np.stack(np.meshgrid(axis, axis), axis=-1).reshape(-1, 2).astype("float32")
    x = np.asarray(images, dtype="float64").reshape(len(images), -1)
    epsilon = keras.config.epsilon()
    log_joint = np.empty((len(x), len(grid)), dtype="float32")
    for start in range(0, len(grid), block):
        z = grid[start:start + block]
        means = ops.convert_to_numpy(decoder(z)).reshape(len(z), -1)
        means = np.clip(means, epsilon, 1 - epsilon).astype("float64")
        log_likelihood = x @ np.log(means).T + (1 - x) @ np.log1p(-means).T  # (images, block)
        log_prior = -0.5 * np.sum(z.astype("float64") ** 2, axis=1) - LOG_2PI
        log_joint[:, start:start + len(z)] = log_likelihood + log_prior
    return axis, log_joint.reshape(len(x), len(axis), len(axis))
