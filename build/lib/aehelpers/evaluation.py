"""Numbers that judge a code: how well its neighbourhoods keep the classes apart."""

from __future__ import annotations

import numpy as np


def knn_accuracy(
    train_codes: np.ndarray,
    train_labels: np.ndarray,
    test_codes: np.ndarray,
    test_labels: np.ndarray,
    k: int = 5,
) -> float:
    """Accuracy of a k-nearest-neighbour vote (Euclidean) that classifies test codes.

    A code space in which items of one class sit together scores high; it is a way to
    measure class separation in a latent plane instead of judging it by eye.

    Args:
        train_codes: ``(n, d)`` codes whose labels are known.
        train_labels: ``(n,)`` integer labels.
        test_codes: ``(m, d)`` codes to classify.
        test_labels: ``(m,)`` their true labels.
        k: neighbours per vote (ties go to the smallest label).
    """
    from scipy.spatial import cKDTree

    train_codes = np.asarray(train_codes, dtype="float64")
    test_codes = np.asarray(test_codes, dtype="float64")
    train_labels = np.asarray(train_labels)
    test_labels = np.asarray(test_labels)
    if train_codes.ndim != 2 or test_codes.ndim != 2 or train_codes.shape[1] != test_codes.shape[1]:
        raise ValueError(
            f"codes must be 2-D arrays of the same width, got {train_codes.shape} and {test_codes.shape}."
        )
    if len(train_labels) != len(train_codes) or len(test_labels) != len(test_codes):
        raise ValueError("each code needs exactly one label.")
    if not 1 <= k <= len(train_codes):
        raise ValueError(f"k must be between 1 and the number of training codes, got {k}.")
    _, neighbours = cKDTree(train_codes).query(test_codes, k=k)
    votes = train_labels[np.asarray(neighbours).reshape(len(test_codes), k)]
    n_classes = int(max(train_labels.max(), test_labels.max())) + 1
    counts = np.apply_along_axis(np.bincount, 1, votes, minlength=n_classes)
    return float(np.mean(counts.argmax(axis=1) == test_labels))
