"""Numbers that judge a code or a reconstruction: neighbours, class separation, anomaly scores."""

from __future__ import annotations

from typing import Any

import numpy as np
from keras import ops
from scipy.spatial import cKDTree

from aehelpers.data import check_pixels


def _as_codes(codes: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(codes, dtype="float32")
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (one code per row), got shape {array.shape}.")
    return array


def nearest_neighbours(reference: np.ndarray, queries: np.ndarray, k: int = 5, chunk: int = 1024) -> np.ndarray:
    """Indices of the ``k`` nearest reference codes (Euclidean) of every query, nearest first.

    In up to three dimensions (a VAE's latent plane) a k-d tree finds them exactly, in
    double precision. Above that, a tree search degrades to brute force, so it is done
    by matrix products, ``|q - r|^2 = |q|^2 - 2 q.r + |r|^2``, ``chunk`` queries at a time,
    with ``keras.ops`` (the backend's matrix product and ``top_k`` use every core). Among
    candidates at exactly the same distance the order is the backend's.

    Args:
        reference: ``(n, d)`` codes to search in.
        queries: ``(m, d)`` codes to search for.
        k: neighbours per query, at most ``n``.
        chunk: queries per block; a block holds a ``(chunk, n)`` distance matrix.

    Returns:
        ``(m, k)`` integer array of row indices into ``reference``.
    """
    reference = _as_codes(reference, "reference")
    queries = _as_codes(queries, "queries")
    if reference.shape[1] != queries.shape[1]:
        raise ValueError(
            f"codes must be 2-D arrays of the same width, got {reference.shape} and {queries.shape}."
        )
    if not 1 <= k <= len(reference):
        raise ValueError(f"k must be between 1 and the number of reference codes ({len(reference)}), got {k}.")
    if reference.shape[1] <= 3:
        _, found = cKDTree(reference.astype("float64")).query(queries.astype("float64"), k=k)
        return np.asarray(found, dtype=np.int64).reshape(len(queries), k)
    candidates = ops.convert_to_tensor(reference)
    norms = ops.sum(ops.square(candidates), axis=1)
    result = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), chunk):
        block = ops.convert_to_tensor(queries[start : start + chunk])
        # The query's own norm is the same for every candidate: it cannot change the order.
        distances = norms[None, :] - 2.0 * ops.matmul(block, ops.transpose(candidates))
        result[start : start + chunk] = ops.convert_to_numpy(ops.top_k(-distances, k=k, sorted=True)[1])
    return result


def knn_accuracy(
    train_codes: np.ndarray,
    train_labels: np.ndarray,
    test_codes: np.ndarray,
    test_labels: np.ndarray,
    k: int = 5,
) -> float:
    """Accuracy of a k-nearest-neighbour vote (Euclidean) that classifies test codes.

    A code space in which items of one class sit together scores high; it is a way to
    measure class separation in a latent plane instead of judging it by eye, and to
    compare codes as features for a classifier.

    Args:
        train_codes: ``(n, d)`` codes whose labels are known.
        train_labels: ``(n,)`` integer labels.
        test_codes: ``(m, d)`` codes to classify.
        test_labels: ``(m,)`` their true labels.
        k: neighbours per vote (ties go to the smallest label).
    """
    train_labels = np.asarray(train_labels)
    test_labels = np.asarray(test_labels)
    if len(train_labels) != len(np.asarray(train_codes)) or len(test_labels) != len(np.asarray(test_codes)):
        raise ValueError("each code needs exactly one label.")
    return vote_accuracy(nearest_neighbours(train_codes, test_codes, k=k), train_labels, test_labels)


def vote_accuracy(neighbours: np.ndarray, train_labels: np.ndarray, test_labels: np.ndarray) -> float:
    """Accuracy of the majority vote of neighbours found already (ties go to the smallest label).

    Args:
        neighbours: ``(m, k)`` indices into the training set, one row per test item, as
            :func:`nearest_neighbours` returns them (its first ``k`` columns give the k-NN vote).
        train_labels: ``(n,)`` integer labels of the training set.
        test_labels: ``(m,)`` true labels of the test items.
    """
    train_labels, test_labels = np.asarray(train_labels), np.asarray(test_labels)
    if neighbours.ndim != 2 or len(neighbours) != len(test_labels):
        raise ValueError(f"neighbours must have one row per test label, got {neighbours.shape} for {len(test_labels)} labels.")
    votes = train_labels[neighbours]
    n_classes = int(max(train_labels.max(), test_labels.max())) + 1
    counts = np.apply_along_axis(np.bincount, 1, votes, minlength=n_classes)
    return float(np.mean(counts.argmax(axis=1) == test_labels))


def reconstruction_errors(images: np.ndarray, reconstructions: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    """Binary cross-entropy of each image against its reconstruction, averaged over pixels.

    This is the autoencoders' training loss, one number per image, in the same units as
    the loss curves. Reconstructions are clipped to ``[eps, 1 - eps]`` as Keras does, so
    that a model whose outputs can leave ``(0, 1)`` (PCA, for instance) can be scored too.

    Returns:
        ``(n,)`` float64 array.
    """
    x = check_pixels(images, "images").reshape(len(images), -1).astype("float64")
    y = np.clip(np.asarray(reconstructions, dtype="float64").reshape(len(reconstructions), -1), eps, 1 - eps)
    if x.shape != y.shape:
        raise ValueError(f"images and reconstructions must match, got {x.shape} and {y.shape} (flattened).")
    return -(x * np.log(y) + (1 - x) * np.log1p(-y)).mean(axis=1)


def image_entropies(images: np.ndarray) -> np.ndarray:
    """Mean binary entropy of each image's pixels: the lowest reconstruction error it can have.

    The per-image version of :func:`aehelpers.data.binary_entropy_floor`. An image with
    many grey pixels has a high floor, a mostly black one a low floor, whatever the model.
    """
    x = check_pixels(images, "images").reshape(len(images), -1).astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -(np.where(x > 0, x * np.log(x), 0.0) + np.where(x < 1, (1 - x) * np.log1p(-x), 0.0))
    return entropy.mean(axis=1)


def roc_auc(scores: np.ndarray, is_positive: np.ndarray) -> float:
    """Area under the ROC curve: the chance that a random positive outscores a random negative.

    Computed from ranks (the Mann-Whitney statistic), ties counting one half. 1.0 means
    every positive (say, every anomaly) scores above every negative, 0.5 is a coin toss.

    Args:
        scores: ``(n,)`` anomaly scores, higher meaning "more likely positive".
        is_positive: ``(n,)`` booleans, at least one of each kind.
    """
    from scipy.stats import rankdata

    scores, positive = _checked_scores(scores, is_positive)
    n_positive = int(positive.sum())
    n_negative = len(positive) - n_positive
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_positive * (n_positive + 1) / 2) / (n_positive * n_negative))


def _checked_scores(scores: np.ndarray, is_positive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores as floats and labels as booleans, of one length, with both classes present."""
    scores = np.asarray(scores, dtype="float64").ravel()
    positive = np.asarray(is_positive).astype(bool).ravel()
    if scores.shape != positive.shape:
        raise ValueError(f"scores and is_positive must have the same length, got {scores.shape} and {positive.shape}.")
    if positive.all() or not positive.any():
        raise ValueError("is_positive needs at least one positive and one negative example.")
    return scores, positive


def roc_curve(scores: np.ndarray, is_positive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates for every distinct threshold, from the highest score down.

    Tied scores form one step (a diagonal segment), so the area under the curve equals
    :func:`roc_auc` and does not depend on the order of the inputs.

    Returns:
        ``(false_positive_rate, true_positive_rate)``, each starting at 0 and ending at 1.
    """
    scores, positive = _checked_scores(scores, is_positive)
    order = np.argsort(-scores, kind="stable")
    sorted_scores, hits = scores[order], positive[order]
    last_of_each_score = np.r_[np.diff(sorted_scores) != 0, True]
    tpr = np.concatenate([[0.0], np.cumsum(hits)[last_of_each_score] / hits.sum()])
    fpr = np.concatenate([[0.0], np.cumsum(~hits)[last_of_each_score] / (~hits).sum()])
    return fpr, tpr


def linear_probe(
    train_features: np.ndarray,
    train_labels: np.ndarray,
    test_features: np.ndarray,
    test_labels: np.ndarray,
    l2: float = 1e-4,
    max_iterations: int = 200,
) -> float:
    """Test accuracy of a logistic-regression classifier trained on frozen features.

    The features are standardised with the training split's mean and spread; the
    classifier (softmax over the classes, with a bias) minimises the mean cross-entropy
    plus ``l2`` times the squared weights, with L-BFGS for at most ``max_iterations``
    steps (on Fashion-MNIST's raw pixels the test accuracy is within 0.001 of its value
    after 1,000 steps from 100 on). The usual measure of how much of the class a
    representation makes linearly readable.
    """
    from scipy.optimize import minimize
    from threadpoolctl import threadpool_limits

    train = _as_codes(train_features, "train_features").astype("float64")
    test = _as_codes(test_features, "test_features").astype("float64")
    train_labels, test_labels = np.asarray(train_labels).ravel(), np.asarray(test_labels).ravel()
    if len(train) != len(train_labels) or len(test) != len(test_labels):
        raise ValueError(f"features and labels differ in length: {len(train)} and {len(train_labels)} (train), "
                         f"{len(test)} and {len(test_labels)} (test).")
    if train.shape[1] != test.shape[1]:
        raise ValueError(f"train and test features differ in width: {train.shape[1]} and {test.shape[1]}.")
    mean, spread = train.mean(axis=0), train.std(axis=0) + 1e-8

    def standardised_with_bias(features: np.ndarray) -> np.ndarray:
        return np.hstack([(features - mean) / spread, np.ones((len(features), 1))])

    x = standardised_with_bias(train)
    classes = int(max(train_labels.max(), test_labels.max())) + 1
    targets = np.eye(classes)[train_labels]

    def loss_and_gradient(flat: np.ndarray) -> tuple[float, np.ndarray]:
        weights = flat.reshape(x.shape[1], classes)
        logits = x @ weights
        logits -= logits.max(axis=1, keepdims=True)
        log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        penalty = np.vstack([weights[:-1], np.zeros((1, classes))])  # the bias is not penalised
        loss = -np.mean(np.sum(targets * log_probs, axis=1)) + l2 * np.sum(penalty**2)
        gradient = x.T @ (np.exp(log_probs) - targets) / len(x) + 2 * l2 * penalty
        return loss, gradient.ravel()

    # The products are too thin for BLAS threads to pay: on two cores they cost 3 to 18
    # times the CPU time of one thread, spinning while they wait.
    with threadpool_limits(limits=1, user_api="blas"):
        result = minimize(loss_and_gradient, np.zeros(x.shape[1] * classes), jac=True, method="L-BFGS-B",
                          options={"maxiter": max_iterations})
    weights = result.x.reshape(x.shape[1], classes)
    scores = standardised_with_bias(test) @ weights
    return float(np.mean(scores.argmax(axis=1) == test_labels))


def in_batches(function: Any, inputs: np.ndarray, batch_size: int = 2048) -> np.ndarray:
    """Apply ``function`` (a model, a layer or any callable on tensors) to ``inputs`` in slices.

    Returns the results joined as one NumPy array. A direct call, unlike ``predict``,
    compiles nothing, so a loop over many models stays quick and TensorFlow does not warn
    about retracing.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    parts = [ops.convert_to_numpy(function(inputs[start:start + batch_size]))
             for start in range(0, len(inputs), batch_size)]
    return np.concatenate(parts)
