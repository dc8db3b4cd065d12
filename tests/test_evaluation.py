import numpy as np
import pytest

from aehelpers.evaluation import knn_accuracy


def test_separated_clusters_score_one_and_noise_scores_chance():
    rng = np.random.default_rng(0)
    labels = np.arange(400) % 4
    centres = np.array([[0, 0], [10, 0], [0, 10], [10, 10]])
    codes = centres[labels] + rng.normal(size=(400, 2))
    assert knn_accuracy(codes[:300], labels[:300], codes[300:], labels[300:]) == 1.0
    noise = rng.normal(size=(400, 2))
    assert knn_accuracy(noise[:300], labels[:300], noise[300:], labels[300:]) < 0.45


def test_knn_with_k_one_finds_the_nearest_label():
    train = np.array([[0.0], [1.0], [5.0]])
    assert knn_accuracy(train, np.array([0, 1, 2]), np.array([[0.9], [4.0]]), np.array([1, 2]), k=1) == 1.0


def test_knn_rejects_bad_shapes_and_k():
    with pytest.raises(ValueError, match="same width"):
        knn_accuracy(np.zeros((5, 2)), np.zeros(5, int), np.zeros((3, 3)), np.zeros(3, int))
    with pytest.raises(ValueError, match="one label"):
        knn_accuracy(np.zeros((5, 2)), np.zeros(4, int), np.zeros((3, 2)), np.zeros(3, int))
    with pytest.raises(ValueError, match="k must be"):
        knn_accuracy(np.zeros((5, 2)), np.zeros(5, int), np.zeros((3, 2)), np.zeros(3, int), k=6)
