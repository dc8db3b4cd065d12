"""Small helpers for the autoencoder book: data, profiles, the shipped models, plotting and VAE layers.

The chapters import this package before Keras: importing it loads Keras with the
backend's C++ start-up banners silenced (see :mod:`aehelpers.backend`), so that the
pages show the lesson rather than oneDNN and CUDA notices.
"""

from aehelpers.backend import quiet_import

quiet_import()

from aehelpers.data import (  # noqa: E402
    CLASS_NAMES,
    DataCorruptError,
    DataNotFoundError,
    add_gaussian_noise,
    binary_entropy_floor,
    load_fashion_mnist,
)
from aehelpers.evaluation import (  # noqa: E402
    image_entropies,
    in_batches,
    knn_accuracy,
    linear_probe,
    nearest_neighbours,
    reconstruction_errors,
    roc_auc,
    roc_curve,
    vote_accuracy,
)
from aehelpers.plotting import (  # noqa: E402
    plot_architecture,
    plot_history,
    plot_histories,
    plot_image_rows,
    plot_latent_grid,
    plot_latent_space,
    plot_latent_spaces,
    plot_reconstructions,
)
from aehelpers import likelihood  # noqa: E402  (ae.likelihood.<function>)
from aehelpers.profile import by_profile, current_profile, epochs  # noqa: E402
from aehelpers.reference import (  # noqa: E402
    ReferenceModelError,
    load_reference,
    reference_history,
    reference_model,
)
from aehelpers.records import load_results, save_results  # noqa: E402
from aehelpers.source import show_source  # noqa: E402
from aehelpers.training import epoch_seconds, resumable, run_dir  # noqa: E402

__all__ = [
    "CLASS_NAMES",
    "add_gaussian_noise",
    "binary_entropy_floor",
    "by_profile",
    "current_profile",
    "DataCorruptError",
    "DataNotFoundError",
    "epoch_seconds",
    "epochs",
    "image_entropies",
    "in_batches",
    "knn_accuracy",
    "linear_probe",
    "load_fashion_mnist",
    "load_reference",
    "load_results",
    "nearest_neighbours",
    "plot_architecture",
    "plot_histories",
    "plot_history",
    "plot_image_rows",
    "plot_latent_grid",
    "plot_latent_space",
    "plot_latent_spaces",
    "plot_reconstructions",
    "ReferenceModelError",
    "reconstruction_errors",
    "reference_history",
    "reference_model",
    "resumable",
    "roc_auc",
    "roc_curve",
    "run_dir",
    "save_results",
    "show_source",
    "vote_accuracy",
]
