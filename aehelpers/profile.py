"""Profiles: load the book's trained models, retrain them, or run a quick test.

``AE_PROFILE`` picks one of three:

* ``reference`` (the default): each chapter loads the model the book trained
  (:func:`aehelpers.reference.load_reference`) and trains only a model that is not shipped;
* ``full``: the chapters retrain every model with the full recipe (the article's where it
  has one). Under ``make full`` (``AE_SHIP=1``) each result is also shipped to ``models/``;
  a reader's own full run stays in its run folder;
* ``quick``: the tests' profile. Every line runs, on a slice of the data
  (:data:`QUICK_TRAIN_IMAGES` training and :data:`QUICK_TEST_IMAGES` test images) and for
  one epoch, so its numbers and pictures mean nothing.

A chapter asks for its epochs once, at the top: ``EPOCHS = ae.epochs(100)`` gives 100,
or 1 in the quick profile (``AE_QUICK_EPOCHS`` raises that 1, for benchmarks).
"""

from __future__ import annotations

import os
from typing import TypeVar

T = TypeVar("T")

PROFILE_VARIABLE = "AE_PROFILE"
PROFILES = ("reference", "full", "quick")
QUICK_EPOCHS_VARIABLE = "AE_QUICK_EPOCHS"  # for benchmarks that need a few epochs
QUICK_TRAIN_IMAGES = 6_000
QUICK_TEST_IMAGES = 1_000


def current_profile() -> str:
    """Return the active profile name, read from the ``AE_PROFILE`` environment variable.

    Raises:
        ValueError: if the variable holds something other than a name of :data:`PROFILES`.
    """
    name = os.environ.get(PROFILE_VARIABLE, "").strip().lower() or "reference"
    if name not in PROFILES:
        raise ValueError(
            f"{PROFILE_VARIABLE}={os.environ[PROFILE_VARIABLE]!r} is not a known profile; "
            f"set it to one of {', '.join(PROFILES)} (or leave it unset for 'reference')."
        )
    return name


def epochs(full_epochs: int) -> int:
    """Return the number of epochs to train: ``full_epochs``, or 1 in the quick profile.

    Args:
        full_epochs: the article's number of epochs for this model (a positive integer).
    """
    if isinstance(full_epochs, bool) or not isinstance(full_epochs, int) or full_epochs < 1:
        raise ValueError(f"full_epochs must be a positive integer, got {full_epochs!r}.")
    if current_profile() != "quick":
        return full_epochs
    quick = os.environ.get(QUICK_EPOCHS_VARIABLE, "1")
    if not quick.isdigit() or int(quick) < 1:
        raise ValueError(f"{QUICK_EPOCHS_VARIABLE}={quick!r} must be a positive integer (default 1).")
    return min(int(quick), full_epochs)


def by_profile(full: T, quick: T) -> T:
    """Return ``quick`` in the quick profile and ``full`` otherwise.

    For a chapter's sizes other than epochs (images to evaluate, samples to draw): the
    reference and full profiles give the page's numbers, the quick one a test run's.
    """
    return quick if current_profile() == "quick" else full
