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


def test_the_first_k_of_ten_neighbours_vote_as_a_k_nearest_neighbour_search_does():
    from aehelpers.evaluation import nearest_neighbours, vote_accuracy

    rng = np.random.default_rng(3)
    train, test = rng.normal(size=(500, 4)), rng.normal(size=(200, 4))
    train_labels, test_labels = rng.integers(0, 10, 500), rng.integers(0, 10, 200)
    ten = nearest_neighbours(train, test, k=10)
    assert vote_accuracy(ten[:, :5], train_labels, test_labels) == knn_accuracy(train, train_labels, test, test_labels, k=5)
    with pytest.raises(ValueError, match="one row per test label"):
        vote_accuracy(ten[:, :5], train_labels, test_labels[:10])


def test_nearest_neighbours_match_a_direct_search_in_high_dimension():
    from aehelpers.evaluation import nearest_neighbours

    rng = np.random.default_rng(1)
    reference = rng.random((300, 784), dtype="float32")
    queries = rng.random((70, 784), dtype="float32")
    found = nearest_neighbours(reference, queries, k=4, chunk=32)
    distances = ((queries[:, None, :].astype("float64") - reference[None, :, :]) ** 2).sum(-1)
    np.testing.assert_array_equal(found, np.argsort(distances, axis=1)[:, :4])


def test_nearest_neighbour_of_a_reference_point_is_itself():
    from aehelpers.evaluation import nearest_neighbours

    points = np.random.default_rng(2).normal(size=(50, 3))
    assert (nearest_neighbours(points, points, k=1)[:, 0] == np.arange(50)).all()


def test_reconstruction_errors_are_the_keras_loss_per_image():
    import keras

    from aehelpers.evaluation import reconstruction_errors

    rng = np.random.default_rng(3)
    x = rng.random((6, 784)).astype("float32")
    y = rng.random((6, 784)).astype("float32")
    expected = keras.ops.convert_to_numpy(keras.losses.binary_crossentropy(x, y))
    np.testing.assert_allclose(reconstruction_errors(x, y), expected, rtol=1e-4)
    # Outputs outside (0, 1), as PCA gives, are clipped instead of producing NaN.
    assert np.isfinite(reconstruction_errors(x, y * 3 - 1)).all()
    with pytest.raises(ValueError, match="must match"):
        reconstruction_errors(x, y[:, :100])


def test_image_entropies_average_to_the_floor():
    from aehelpers.data import binary_entropy_floor
    from aehelpers.evaluation import image_entropies, reconstruction_errors

    x = np.random.default_rng(4).random((5, 784)).astype("float32")
    assert image_entropies(x).mean() == pytest.approx(binary_entropy_floor(x), rel=1e-6)
    assert (reconstruction_errors(x, x) >= image_entropies(x) - 1e-9).all()
    assert image_entropies(np.zeros((2, 784), "float32")).tolist() == [0.0, 0.0]


def test_roc_auc_of_perfect_random_and_reversed_scores():
    from aehelpers.evaluation import roc_auc, roc_curve

    labels = np.array([0] * 50 + [1] * 50)
    assert roc_auc(np.arange(100), labels) == 1.0
    assert roc_auc(-np.arange(100), labels) == 0.0
    assert roc_auc(np.ones(100), labels) == 0.5
    rng = np.random.default_rng(5)
    scores = rng.normal(size=4000) + np.repeat([0.0, 1.0], 2000)
    labels = np.repeat([0, 1], 2000)
    fpr, tpr = roc_curve(scores, labels)
    assert roc_auc(scores, labels) == pytest.approx(np.trapezoid(tpr, fpr), abs=1e-9)
    # Two unit-variance normals one standard deviation apart: AUC = Phi(1 / sqrt 2) = 0.760.
    assert roc_auc(scores, labels) == pytest.approx(0.760, abs=0.02)
    with pytest.raises(ValueError, match="at least one positive"):
        roc_auc(np.arange(4), np.zeros(4))


def test_roc_curve_treats_ties_as_one_step_and_checks_its_input():
    from aehelpers.evaluation import roc_auc, roc_curve

    scores = np.array([0.5, 0.5, 0.2, 0.9, 0.2])
    labels = np.array([False, True, False, True, True])
    for order in (slice(None), slice(None, None, -1)):  # the area must not depend on the order
        fpr, tpr = roc_curve(scores[order], labels[order])
        assert np.trapezoid(tpr, fpr) == pytest.approx(roc_auc(scores, labels))
    assert len(fpr) == 1 + len(np.unique(scores))
    with pytest.raises(ValueError, match="same length"):
        roc_curve(np.arange(100), np.arange(200) % 2)
    with pytest.raises(ValueError, match="at least one positive"):
        roc_curve(np.arange(4), np.ones(4))


def test_a_linear_probe_reads_classes_that_are_linearly_separable():
    from aehelpers.evaluation import linear_probe

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 5)) * 4
    labels = rng.integers(0, 3, size=600)
    features = centres[labels] + rng.normal(size=(600, 5))
    assert linear_probe(features[:400], labels[:400], features[400:], labels[400:]) > 0.95
    noise = rng.normal(size=(600, 5))  # features that say nothing of the class
    assert linear_probe(noise[:400], labels[:400], noise[400:], labels[400:]) < 0.5


def test_a_linear_probe_refuses_features_and_labels_of_different_lengths():
    from aehelpers.evaluation import linear_probe

    with pytest.raises(ValueError, match="differ in length"):
        linear_probe(np.zeros((4, 2)), np.zeros(3, int), np.zeros((2, 2)), np.zeros(2, int))


def test_in_batches_joins_the_slices_as_one_call_would():
    from aehelpers.evaluation import in_batches

    inputs = np.arange(10, dtype="float32").reshape(5, 2)
    np.testing.assert_array_equal(in_batches(lambda x: x * 2, inputs, batch_size=2), inputs * 2)
    with pytest.raises(ValueError, match="positive integer"):
        in_batches(lambda x: x, inputs, batch_size=0)
