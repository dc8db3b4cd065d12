"""The importance-weighted estimate of log p(x), checked where the answer is known."""

import ast
import inspect
import jupytext
import math
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import ops
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from aehelpers import likelihood
from aehelpers.vae import reconstruction_loss

CHAPTER = Path(__file__).resolve().parent.parent / "notebooks" / "12-how-good-is-a-vae.md"


class LinearGaussian:
    """z ~ N(0, I), x | z ~ N(W z + b, s^2 I): log p(x) and the posterior are closed form.

    W has orthogonal columns, so the exact posterior is a diagonal Gaussian, which the
    estimator's q can represent exactly.
    """

    def __init__(self, observed=5, latent=2, noise=0.5, seed=0):
        rng = np.random.default_rng(seed)
        basis, _ = np.linalg.qr(rng.normal(size=(observed, latent)))
        self.W = basis * np.array([2.0, 0.7])[:latent]
        self.b = rng.normal(size=observed)
        self.s = noise
        self.x = self.b + rng.normal(size=(3, observed)) * 1.5

    def log_p(self):
        cov = self.W @ self.W.T + self.s**2 * np.eye(len(self.b))
        return multivariate_normal(self.b, cov).logpdf(self.x)

    def posterior(self):
        precision = np.diag(1 + np.sum(self.W**2, axis=0) / self.s**2)  # W^T W is diagonal
        variance = 1 / np.diag(precision)
        mean = (self.x - self.b) @ self.W / self.s**2 * variance
        return mean.astype("float32"), np.broadcast_to(np.log(variance), mean.shape).astype("float32")

    def log_likelihood(self, z):
        z = ops.convert_to_numpy(z).astype("float64")  # (samples, batch, latent)
        residual = (self.x - (z @ self.W.T + self.b)) / self.s
        dims = len(self.b)
        return -0.5 * np.sum(residual**2, axis=-1) - dims * math.log(self.s) - 0.5 * dims * likelihood.LOG_2PI


def bound(log_weights, k):
    """The k-sample bound averaged over all disjoint groups of k samples, per data point."""
    weights = np.asarray(ops.convert_to_numpy(log_weights), dtype="float64")
    groups = len(weights) // k
    grouped = weights[: groups * k].reshape(groups, k, -1).swapaxes(0, 1)
    return ops.convert_to_numpy(likelihood.importance_weighted_bound(grouped)).mean(axis=0)


def test_the_bound_is_a_stable_log_mean_exp():
    weights = np.log(np.array([[1.0], [2.0], [3.0]]))
    assert ops.convert_to_numpy(likelihood.importance_weighted_bound(weights)) == pytest.approx([math.log(2.0)])
    # Weights of e^-1000 underflow to zero; their log-mean must not.
    tiny = ops.convert_to_numpy(likelihood.importance_weighted_bound(weights - 1000.0))
    assert tiny == pytest.approx([math.log(2.0) - 1000.0])


def test_with_the_exact_posterior_every_weight_is_the_likelihood():
    model = LinearGaussian()
    mean, log_var = model.posterior()
    log_weights = likelihood.log_importance_weights(model.log_likelihood, mean, log_var, 50, keras.random.SeedGenerator(1))
    assert np.allclose(ops.convert_to_numpy(log_weights), model.log_p(), atol=2e-4)


def test_with_a_poor_posterior_the_bound_rises_with_k_towards_the_likelihood():
    model = LinearGaussian()
    mean, log_var = model.posterior()
    poor_mean, poor_log_var = mean + 0.6 * np.exp(0.5 * log_var), log_var + math.log(2.0)  # off-centre and too wide
    log_weights = likelihood.log_importance_weights(
        model.log_likelihood, poor_mean, poor_log_var, 200_000, keras.random.SeedGenerator(2))
    exact = model.log_p()
    gaps = [float(np.mean(exact - bound(log_weights, k))) for k in (1, 10, 100, 1000, 10_000)]
    assert all(g > -1e-3 for g in gaps), gaps  # a lower bound (up to sampling noise)
    assert gaps == sorted(gaps, reverse=True), gaps  # tighter with every k
    assert gaps[0] > 0.2, gaps  # the ELBO of this q is visibly loose ...
    assert gaps[-1] < 0.01, gaps  # ... and 10,000 samples all but close the gap


def test_the_elbo_estimate_is_the_closed_form_elbo():
    model = LinearGaussian()
    mean, log_var = model.posterior()
    poor_mean, poor_log_var = mean + 0.6 * np.exp(0.5 * log_var), log_var + math.log(2.0)
    log_weights = ops.convert_to_numpy(likelihood.log_importance_weights(
        model.log_likelihood, poor_mean, poor_log_var, 100_000, keras.random.SeedGenerator(3)))
    # log p(x) - ELBO = KL(q || posterior), closed form between two diagonal Gaussians.
    true_mean, true_log_var = model.posterior()
    kl = 0.5 * np.sum(np.exp(poor_log_var - true_log_var) + (poor_mean - true_mean) ** 2 / np.exp(true_log_var)
                      - 1 + true_log_var - poor_log_var, axis=-1)
    assert np.asarray(log_weights, dtype="float64").mean(axis=0) == pytest.approx(model.log_p() - kl, abs=0.02)


def grid_log_likelihood(decoder, images, step):
    axis, log_joint = likelihood.grid_log_joint(decoder, images, step)
    return logsumexp(log_joint.astype("float64"), axis=(1, 2)) + 2 * math.log(step)


def small_decoder(latent=2, seed=0):
    keras.utils.set_random_seed(seed)
    z = keras.Input((latent,))
    h = keras.layers.Dense(16, activation="tanh")(z)
    return keras.Model(z, keras.layers.Dense(784, activation="sigmoid")(h))


def grey_images(n=4, seed=0):
    return np.random.default_rng(seed).uniform(size=(n, 784)).astype("float32")


def test_the_bernoulli_likelihood_pairs_each_code_with_its_own_image():
    decoder, images = small_decoder(), grey_images(2)
    z = np.random.default_rng(1).normal(size=(3, 2, 2)).astype("float32")
    values = ops.convert_to_numpy(likelihood.bernoulli_log_likelihood(decoder, images)(z))
    assert values.shape == (3, 2)
    for s in range(3):
        for i in range(2):
            one = -ops.convert_to_numpy(reconstruction_loss(images[i:i + 1], decoder(z[s, i:i + 1])))[0]
            assert values[s, i] == pytest.approx(one, rel=1e-5)


def test_quadrature_of_a_decoder_that_ignores_the_code_is_its_likelihood():
    decoder = small_decoder()
    dense = decoder.layers[-1]
    dense.kernel.assign(np.zeros(dense.kernel.shape))
    images = grey_images()
    exact = -ops.convert_to_numpy(reconstruction_loss(images, decoder(np.zeros((4, 2), "float32"))))
    # Over [-5, 5]^2 the prior misses 1e-6 of its mass; the float32 loss adds ~2e-4 at 543 nats.
    assert grid_log_likelihood(decoder, images, step=0.05) == pytest.approx(exact, abs=5e-4)


def test_quadrature_and_importance_sampling_agree():
    decoder, images = small_decoder(seed=3), grey_images(seed=3)
    grid = grid_log_likelihood(decoder, images, step=0.05)
    prior = np.zeros((len(images), 2), "float32")  # the prior as proposal: a smooth decoder needs nothing better
    log_weights = likelihood.log_importance_weights(
        likelihood.bernoulli_log_likelihood(decoder, images), prior, prior, 20_000, keras.random.SeedGenerator(4))
    assert bound(log_weights, 20_000) == pytest.approx(grid, abs=0.05)


def test_quadrature_needs_a_two_dimensional_code():
    with pytest.raises(ValueError, match="two-dimensional code"):
        likelihood.grid_log_joint(small_decoder(latent=3), grey_images(), step=0.5)


def chapter_functions():
    """The top-level functions defined in the code cells of the chapter's text twin."""
    cells = jupytext.read(CHAPTER).cells
    code = "\n\n".join(cell.source for cell in cells if cell.cell_type == "code" and "%pip" not in cell.source)
    tree = ast.parse(code)
    return {node.name: ast.get_source_segment(code, node) for node in tree.body if isinstance(node, ast.FunctionDef)}


@pytest.mark.parametrize("name", ["log_importance_weights", "importance_weighted_bound"])
def test_the_chapter_shows_the_code_that_runs(name):
    shown = chapter_functions()
    assert name in shown, f"{CHAPTER.name} no longer defines {name}"
    assert shown[name] == inspect.getsource(getattr(likelihood, name)).strip(), (
        f"{name} in {CHAPTER.name} and in aehelpers/likelihood.py differ: make them the same")


def test_the_grid_runs_along_the_first_latent_axis_in_columns():
    decoder = small_decoder()
    axis, log_joint = likelihood.grid_log_joint(decoder, grey_images(1), step=1.0, limit=2.0)
    assert list(axis) == [-2.0, -1.0, 0.0, 1.0, 2.0] and log_joint.shape == (1, 5, 5)
    z = np.array([[axis[3], axis[1]]], "float32")  # column 3, row 1
    direct = likelihood.bernoulli_log_likelihood(decoder, grey_images(1))(z[None])
    expected = ops.convert_to_numpy(direct)[0, 0] - 0.5 * np.sum(z**2) - likelihood.LOG_2PI
    assert log_joint[0, 1, 3] == pytest.approx(expected, abs=1e-3)
