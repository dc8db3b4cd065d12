"""Training profiles: the article's full recipe, or a one-epoch run for tests.

A chapter asks for its epochs once, at the top::

    EPOCHS = aehelpers.epochs(100)

and gets 100 under ``AE_PROFILE=full`` (the default) or 1 under ``AE_PROFILE=quick``
(``AE_QUICK_EPOCHS`` raises that 1, for benchmarks that need a few epochs).
The quick profile still uses the full data, so shapes, parameter counts and the code
paths are the same as in the full run; only the amount of training differs.
"""

from __future__ import annotations

import os

PROFILE_VARIABLE = "AE_PROFILE"
PROFILES = ("full", "quick")
QUICK_EPOCHS_VARIABLE = "AE_QUICK_EPOCHS"  # for benchmarks that need a few epochs


def current_profile() -> str:
    """Return the active profile name, read from the ``AE_PROFILE`` environment variable.

    Raises:
        ValueError: if the variable holds something other than ``full`` or ``quick``.
    """
    name = os.environ.get(PROFILE_VARIABLE, "full").strip().lower() or "full"
    if name not in PROFILES:
        raise ValueError(
            f"{PROFILE_VARIABLE}={os.environ[PROFILE_VARIABLE]!r} is not a known profile; "
            f"set it to one of {', '.join(PROFILES)} (or leave it unset for 'full')."
        )
    return name


def epochs(full_epochs: int) -> int:
    """Return the number of epochs to train: ``full_epochs`` in the full profile, 1 in quick.

    Args:
        full_epochs: the article's number of epochs for this model (a positive integer).
    """
    if isinstance(full_epochs, bool) or not isinstance(full_epochs, int) or full_epochs < 1:
        raise ValueError(f"full_epochs must be a positive integer, got {full_epochs!r}.")
    if current_profile() == "full":
        return full_epochs
    quick = os.environ.get(QUICK_EPOCHS_VARIABLE, "1")
    if not quick.isdigit() or int(quick) < 1:
        raise ValueError(f"{QUICK_EPOCHS_VARIABLE}={quick!r} must be a positive integer (default 1).")
    return min(int(quick), full_epochs)


def describe_run(epochs_to_train: int) -> str:
    """One line for the top of a chapter saying which profile made the outputs below it.

    In the quick profile it says plainly that the numbers and pictures are those of a
    test run, so that no reader mistakes them for the article's recipe.
    """
    if current_profile() == "full":
        return f"full profile: {epochs_to_train} epochs"
    return (
        f"QUICK profile: {epochs_to_train} epoch(s) only. This is a test run: the numbers and "
        "pictures below are not those of the full recipe (run with AE_PROFILE=full for them)"
    )
