import pytest

from aehelpers.profile import current_profile, epochs


def test_reference_is_the_default_and_full_trains_all_epochs(monkeypatch):
    monkeypatch.delenv("AE_PROFILE", raising=False)
    assert current_profile() == "reference"
    assert epochs(150) == 150
    monkeypatch.setenv("AE_PROFILE", "full")
    assert epochs(150) == 150


def test_quick_profile_trains_one_epoch(monkeypatch):
    monkeypatch.setenv("AE_PROFILE", "quick")
    assert current_profile() == "quick"
    assert epochs(100) == 1


def test_profile_name_is_case_and_space_insensitive(monkeypatch):
    monkeypatch.setenv("AE_PROFILE", " Quick ")
    assert current_profile() == "quick"


def test_unknown_profile_is_refused_with_the_choices(monkeypatch):
    monkeypatch.setenv("AE_PROFILE", "fast")
    with pytest.raises(ValueError, match="reference, full, quick"):
        current_profile()


@pytest.mark.parametrize("bad", [0, -3, 2.5, "100", True])
def test_epochs_needs_a_positive_integer(bad):
    with pytest.raises(ValueError, match="positive integer"):
        epochs(bad)


def test_quick_epochs_can_be_raised_for_benchmarks_but_not_past_the_full_count(monkeypatch):
    monkeypatch.setenv("AE_PROFILE", "quick")
    monkeypatch.setenv("AE_QUICK_EPOCHS", "3")
    assert epochs(100) == 3 and epochs(2) == 2
    monkeypatch.setenv("AE_QUICK_EPOCHS", "zero")
    with pytest.raises(ValueError, match="AE_QUICK_EPOCHS"):
        epochs(100)


def test_quick_profile_loads_a_slice_of_the_data(monkeypatch, fashion):
    from aehelpers.data import load_fashion_mnist
    from aehelpers.profile import QUICK_TEST_IMAGES, QUICK_TRAIN_IMAGES

    monkeypatch.setenv("AE_PROFILE", "quick")
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist("image")
    assert x_train.shape == (QUICK_TRAIN_IMAGES, 28, 28, 1) and len(y_train) == QUICK_TRAIN_IMAGES
    assert x_test.shape == (QUICK_TEST_IMAGES, 28, 28, 1) and len(y_test) == QUICK_TEST_IMAGES
    assert set(y_train) == set(range(10))  # every class is in the slice
    monkeypatch.setenv("AE_PROFILE", "reference")
    assert len(load_fashion_mnist("flat")[1][0]) == 10_000
