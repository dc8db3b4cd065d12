"""The models the book ships: listed, intact, loadable in safe mode, and as good as the book says.

Each model is evaluated on the test split (in the form its chapter validated it on) and
must reproduce the figure of its manifest entry: the validation loss of the shipped epoch,
within 1e-4. For the VAEs the figure is a one-sample test -ELBO (for a beta-VAE, its
reconstruction + beta x KL, and the manifest says which) drawn by the sampling
layer's seeded generator (fresh from the file), which is bit-for-bit repeatable on the
backend that made it (TensorFlow); another backend draws other samples, so there the
check is only that it lies within half a nat. The records of the chapters must state the
same figures as the manifest, and the pages that quote one model must agree.
"""

import json
import re
import zipfile
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

from aehelpers.data import add_gaussian_noise, to_layout
from aehelpers.evaluation import in_batches
from aehelpers.reference import manifest, models_dir, sha256_of_file, vae_loss_name
from aehelpers.vae import VAE

ROOT = Path(__file__).resolve().parents[1]
MODELS = manifest()["models"]
# The models of the article's chapters and of the uses part (1 to 11) were given 30 MB;
# the whole book's, with the chapters beyond, are kept under 60 MB.
ARTICLE_BUDGET_BYTES = 30 * 1024 * 1024
BOOK_BUDGET_BYTES = 60 * 1024 * 1024
RESULTS = {path.stem: json.loads(path.read_text()) for path in (ROOT / "book" / "results").glob("[0-9][0-9]-*.json")}


def test_the_models_folder_holds_exactly_the_listed_files_with_their_checksums():
    listed = {entry[key] for entry in MODELS.values() for key in ("file", "history")}
    present = {path.name for path in models_dir().iterdir() if path.name != "manifest.json"}
    assert present == listed, f"unlisted: {sorted(present - listed)}, missing: {sorted(listed - present)}"
    for name, entry in MODELS.items():
        assert sha256_of_file(models_dir() / entry["file"]) == entry["sha256"], f"{entry['file']} differs from its manifest entry"
        assert sha256_of_file(models_dir() / entry["history"]) == entry["history_sha256"], f"{entry['history']} differs"
        assert (models_dir() / entry["file"]).stat().st_size == entry["bytes"]


def test_the_models_fit_the_budget():
    article = sum(entry["bytes"] for entry in MODELS.values() if int(entry["chapter"][:2]) <= 11)
    assert article < ARTICLE_BUDGET_BYTES, f"chapters 1 to 11 ship {article / 2**20:.1f} MiB"
    assert sum(entry["bytes"] for entry in MODELS.values()) < BOOK_BUDGET_BYTES


# Every model whose outputs a page shows, by the name the chapter loads it under.
BOOK_MODELS = {
    "01-basic-autoencoder",
    "02-sparse-autoencoder", "02-sparse-autoencoder-l1-0", "02-sparse-autoencoder-l1-1e-4",
    "03-deep-autoencoder", "04-convolutional-autoencoder", "05-denoising-autoencoder",
    "06-sequence-autoencoder", "07-variational-autoencoder", "08-convolutional-vae",
    "09-what-autoencoders-are-for",  # the anomaly detector
    *(f"10-how-small-can-the-code-be-{size}" for size in (2, 4, 8, 16, 64, 128)),  # 32 is chapter 1's
    "11-a-faster-recipe-article", "11-a-faster-recipe-fast",
    *(f"13-what-the-kl-weight-does-32d-beta-{beta:g}" for beta in (0.1, 0.25, 0.5, 1, 2, 4, 8)),
    "13-what-the-kl-weight-does-2d-beta-0.1", "13-what-the-kl-weight-does-2d-beta-8",
    "13-what-the-kl-weight-does-32d-beta-1-warm-up",
    "14-discrete-codes", "14-discrete-codes-restarts", "14-discrete-codes-prior",
    *(f"15-masked-autoencoders-{ratio}" for ratio in (25, 50, 75)), "15-masked-autoencoders-supervised",
    "16-sparse-autoencoders-classifier",
    *(f"16-sparse-autoencoders-{kind}" for kind in ("l1-512", "l1-2048", "topk8-512", "topk16-512",
                                                     "topk32-512", "topk16-2048")),
}
# Classifiers, validated on the test images with their labels.
CLASSIFIERS = {"15-masked-autoencoders-supervised", "16-sparse-autoencoders-classifier"}


def test_every_model_of_the_book_is_shipped():
    assert set(MODELS) == BOOK_MODELS, (
        f"not shipped: {sorted(BOOK_MODELS - set(MODELS))}, unexpected: {sorted(set(MODELS) - BOOK_MODELS)}")
    for text in (ROOT / "notebooks").glob("[0-9][0-9]-*.md"):  # the names written out in the chapters
        for call in ("ae.load_reference(", "ae.reference_model(", "ae.reference_history("):
            for part in text.read_text().split(call)[1:]:
                name = part.split(")")[0].split(",")[-1].strip()
                if name.startswith('"'):
                    assert name.strip('"') in BOOK_MODELS, f"{text.name} loads {name}, which the book does not ship"


@pytest.fixture(scope="module")
def test_split(fashion):
    (_, _), (x_test, y_test) = fashion
    return x_test, y_test


@pytest.fixture(scope="module")
def classifier_activations(fashion):
    """Chapter 16's inputs to its sparse autoencoders: the classifier's penultimate activations
    on the test images, over the training images' root-mean-square norm."""
    (x_train, _), (x_test, _) = fashion
    classifier = keras.saving.load_model(models_dir() / MODELS["16-sparse-autoencoders-classifier"]["file"],
                                         safe_mode=True)
    penultimate = keras.Model(classifier.input, classifier.get_layer("penultimate").output)
    train, test = (in_batches(penultimate, to_layout(x, "image")) for x in (x_train, x_test))
    return test / np.sqrt(np.mean(np.sum(train**2, axis=1)))


def evaluation_data(name, model, test_split):
    """The test split as the chapter validated this model on it: (inputs, targets)."""
    images, labels = test_split
    layout = {4: "image", 3: "sequence", 2: "flat"}[len(model.inputs[0].shape)]
    x = to_layout(images, layout)
    if name.startswith("05-"):  # the denoiser: noisy inputs, clean targets
        return add_gaussian_noise(x, 0.5, seed=2), x
    if name.startswith("09-"):  # the anomaly detector: validated on the nine normal classes
        normal = x[labels != 1]
        return normal, normal
    return x, x


def prior_evaluation_data(name, test_split):
    """The code indices a prior was validated on: those of the test images under the VQ-VAE it models."""
    vqvae = keras.saving.load_model(models_dir() / MODELS[name.replace("-prior", "-restarts")]["file"], safe_mode=True)
    encoded = in_batches(vqvae.get_layer("encoder"), to_layout(test_split[0], "image"), batch_size=1000)
    return keras.ops.convert_to_numpy(vqvae.get_layer("quantizer").code_indices(encoded)).astype("int32")


@pytest.mark.parametrize("name", sorted(MODELS), ids=str)
def test_a_shipped_model_loads_safely_without_optimizer_and_reproduces_its_figure(name, test_split, request):
    entry = MODELS[name]
    path = models_dir() / entry["file"]
    with zipfile.ZipFile(path) as archive, h5py.File(archive.open("model.weights.h5")) as weights:
        assert "optimizer" not in weights
        arrays = []
        weights.visititems(lambda _, item: arrays.append(item.dtype) if isinstance(item, h5py.Dataset) else None)
        assert arrays and set(arrays) == {np.dtype("float32")}
    model = keras.saving.load_model(path, safe_mode=True)
    assert model.count_params() == entry["parameters"]
    figure = entry["test_figure"]
    if name.endswith("-prior"):  # the PixelCNN: the code indices of the test images, under its VQ-VAE
        model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        x = prior_evaluation_data(name, test_split)
        value = model.evaluate(x, x, batch_size=256, verbose=0)
        tolerance = 1e-4
    elif name in CLASSIFIERS:
        model.compile(loss="sparse_categorical_crossentropy")
        value = model.evaluate(to_layout(test_split[0], "image"), test_split[1], batch_size=256, verbose=0)
        tolerance = 1e-4
    elif name.startswith("15-"):  # a masked autoencoder: its masks are new draws, so a sample's spread
        model.compile()
        value = model.evaluate(to_layout(test_split[0], "image"), batch_size=256, verbose=0)
        tolerance = 0.02 * figure["value"]
    elif name.startswith("16-"):  # a sparse autoencoder of the classifier's activations
        model.compile(loss="mse")
        activations = request.getfixturevalue("classifier_activations")
        value = model.evaluate(activations, activations, batch_size=256, verbose=0)
        tolerance = 1e-6
    elif isinstance(model, VAE):
        assert figure["metric"].startswith(vae_loss_name(model.beta) + ","), (
            f"{name}: the manifest calls its figure {figure['metric']!r}, but a VAE with beta {model.beta:g} "
            f"is scored by {vae_loss_name(model.beta)!r}")
        model.compile()
        x, _ = evaluation_data(name, model.encoder, test_split)
        value = model.evaluate(x, batch_size=128, verbose=0, return_dict=True)["loss"]
        tolerance = 1e-3 if keras.backend.backend() == "tensorflow" else 0.5
    else:
        model.compile(loss="binary_crossentropy")
        x, y = evaluation_data(name, model, test_split)
        value = model.evaluate(x, y, batch_size=256, verbose=0)
        tolerance = 1e-4
    assert abs(value - figure["value"]) <= tolerance, f"{name}: {value} against the manifest's {figure['value']}"


def main_model_figure(chapter):
    record = RESULTS[chapter]
    return record.get("best_weights_val_loss", record.get("test_loss", record["final_val_loss"]))


def main_run(chapter):
    """The run a chapter's record describes: the chapter's name unless the record names another."""
    return RESULTS[chapter].get("run", chapter)


@pytest.mark.parametrize("chapter", sorted(c for c in RESULTS if main_run(c) in MODELS), ids=str)
def test_a_chapters_record_states_its_shipped_models_figure(chapter):
    entry = MODELS[main_run(chapter)]
    assert main_model_figure(chapter) == pytest.approx(entry["test_figure"]["value"], abs=1e-4)
    assert RESULTS[chapter]["epochs"] == entry["epochs"]
    assert RESULTS[chapter]["trained_on"] == entry["trained_on"]


def test_pages_that_quote_one_model_agree():
    """Chapters 8 to 10 quote the models of chapters 1 and 7: one model, one set of numbers."""
    if {"01-basic-autoencoder", "07-variational-autoencoder", "09-what-autoencoders-are-for",
            "10-how-small-can-the-code-be"} - set(RESULTS):
        pytest.fail("a record is missing: run make pages")
    vae, uses, sizes = (RESULTS[c] for c in ("07-variational-autoencoder", "09-what-autoencoders-are-for",
                                             "10-how-small-can-the-code-be"))
    assert uses["knn5_accuracy"]["VAE latent means (2)"] == vae["knn5_latent_accuracy"]
    basic_end = float(np.mean(RESULTS["01-basic-autoencoder"]["history"]["val_loss"][-5:]))
    assert sizes["end_val_loss_by_code_size"]["32"] == pytest.approx(basic_end, abs=1e-12)


def test_chapter_11s_article_recipe_repeats_chapter_4s_run():
    """Chapter 11 says its article-recipe run is chapter 4's again: same model, recipe, seed and machine."""
    chapter_4 = RESULTS["04-convolutional-autoencoder"]
    chapter_11 = RESULTS["11-a-faster-recipe"]
    assert chapter_11["article_recipe_history"]["loss"] == chapter_4["history"]["loss"], (
        "chapter 11's article recipe no longer repeats chapter 4's run (another machine or seed?): "
        "reword chapter 11's 'What the numbers say'")
    assert chapter_11["article_recipe_history"]["val_loss"] == chapter_4["history"]["val_loss"]


def test_the_readme_states_how_many_models_ship_and_how_large_they_are():
    readme = (ROOT / "README.md").read_text()
    total = sum(entry["bytes"] + (models_dir() / entry["history"]).stat().st_size for entry in MODELS.values())
    assert f"**{len(MODELS)} models, {total / 1e6:.1f} MB**" in readme


def test_no_page_says_a_model_is_still_being_trained():
    # Every model is shipped: a sentence left over from while some were training would mislead.
    pages = [ROOT / "README.md", ROOT / "book" / "intro.md", ROOT / "book" / "setup.md",
             ROOT / "notebooks" / "99-results.md"]
    stale = re.compile(r"still being trained|being trained again|until (?:its|their) models ship|until they (?:ship|are shipped)")
    for page in pages:
        text = " ".join(page.read_text().split()).lower()
        found = stale.search(text)
        assert found is None, f"{page.name} says a model is not shipped yet: {text[max(0, found.start() - 80):found.end() + 80]!r}"
