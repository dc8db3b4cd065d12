import pytest

from aehelpers.profile import current_profile, epochs


def test_full_is_the_default(monkeypatch):
    monkeypatch.delenv("AE_PROFILE", raising=False)
    assert current_profile() == "full"
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
    with pytest.raises(ValueError, match="full, quick"):
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


def test_describe_run_warns_about_quick_outputs(monkeypatch):
    from aehelpers.profile import describe_run

    monkeypatch.setenv("AE_PROFILE", "full")
    assert describe_run(150) == "full profile: 150 epochs"
    monkeypatch.setenv("AE_PROFILE", "quick")
    assert describe_run(1).startswith("QUICK profile: 1 epoch(s) only") and "not those of the full recipe" in describe_run(1)
