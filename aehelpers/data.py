"""Fashion-MNIST: find it, check it, and shape it for each chapter.

The four original files (``train-images-idx3-ubyte.gz`` and friends) are looked for in,
in order:

1. the directory named by the ``FASHION_MNIST_DIR`` environment variable;
2. ``/usr/share/datasets/fashion-mnist``, where Debian's ``dataset-fashion-mnist`` puts them;
3. Keras' own cache (``~/.keras/datasets/fashion-mnist``, or under ``KERAS_HOME``);
4. and, last, Keras' downloader (``keras.datasets.fashion_mnist.load_data``).

Whatever the source, the decoded arrays are checked against known SHA-256 digests, so a
truncated download or a different data set is caught before any training starts.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
from pathlib import Path
from typing import Literal

import numpy as np

from aehelpers.profile import QUICK_TEST_IMAGES, QUICK_TRAIN_IMAGES, current_profile

DATA_DIR_VARIABLE = "FASHION_MNIST_DIR"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")

CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

IMAGE_SIZE = 28

# File name -> (expected array shape, SHA-256 of the decoded uint8 payload).
FILES = {
    "train-images-idx3-ubyte.gz": (
        (60000, 28, 28),
        "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
    ),
    "train-labels-idx1-ubyte.gz": (
        (60000,),
        "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7",
    ),
    "t10k-images-idx3-ubyte.gz": (
        (10000, 28, 28),
        "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a",
    ),
    "t10k-labels-idx1-ubyte.gz": (
        (10000,),
        "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9",
    ),
}

HOW_TO_GET_IT = (
    "To get Fashion-MNIST, do one of these:\n"
    "  - on Debian or Ubuntu: sudo apt-get install dataset-fashion-mnist\n"
    "  - with an internet connection: run again and Keras downloads it into its cache\n"
    f"  - copy the four .gz files into a directory and set {DATA_DIR_VARIABLE} to it."
)

Layout = Literal["flat", "image", "sequence"]
Split = tuple[np.ndarray, np.ndarray]


class DataNotFoundError(FileNotFoundError):
    """Fashion-MNIST is in none of the places looked at and could not be downloaded."""


class DataCorruptError(ValueError):
    """A Fashion-MNIST file exists but its content is not the expected data."""


def candidate_dirs() -> list[Path]:
    """Return the directories searched for the four files, in the order they are tried."""
    dirs = []
    if os.environ.get(DATA_DIR_VARIABLE):
        dirs.append(Path(os.environ[DATA_DIR_VARIABLE]).expanduser())
    dirs.append(DEBIAN_DIR)
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser()
    dirs.append(keras_home / "datasets" / "fashion-mnist")
    return dirs


def sha256_of(array: np.ndarray) -> str:
    """Return the SHA-256 hex digest of an array's bytes (C order)."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one gzipped IDX file (the format of the original MNIST files) into a uint8 array.

    Raises:
        DataCorruptError: if the file is not gzip, not IDX, or shorter than its header says.
    """
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as error:
        raise DataCorruptError(
            f"{path} is not a readable gzip file ({error}). Delete it and fetch it again.\n"
            + HOW_TO_GET_IT
        ) from error
    if len(raw) < 8 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataCorruptError(f"{path} does not start with an IDX header of unsigned bytes.")
    ndim = raw[3]
    header_end = 4 + 4 * ndim
    if len(raw) < header_end:
        raise DataCorruptError(
            f"{path} ends inside its IDX header: the file is truncated. Delete it and fetch it "
            "again.\n" + HOW_TO_GET_IT
        )
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    payload = np.frombuffer(raw, dtype=np.uint8, offset=header_end)
    if payload.size != int(np.prod(shape)):
        raise DataCorruptError(
            f"{path} holds {payload.size} values but its header announces shape {shape}: "
            "the file is truncated. Delete it and fetch it again.\n" + HOW_TO_GET_IT
        )
    return payload.reshape(shape).copy()  # a writable array of its own, not a view of the bytes


def verify(name: str, array: np.ndarray, source: str) -> np.ndarray:
    """Check one decoded array against its expected shape and SHA-256; return it unchanged.

    Raises:
        DataCorruptError: naming the file, where it came from, and what to do.
    """
    shape, digest = FILES[name]
    if array.shape != shape:
        problem = f"it has shape {array.shape}, expected {shape}"
    elif sha256_of(array) != digest:
        problem = "its content does not match the known SHA-256 checksum"
    else:
        return array
    raise DataCorruptError(
        f"Fashion-MNIST file {name} from {source} is not the expected data: {problem}. "
        "Delete the damaged copy and fetch it again.\n" + HOW_TO_GET_IT
    )


def _load_from_dir(directory: Path) -> tuple[Split, Split]:
    arrays = {name: verify(name, read_idx(directory / name), str(directory)) for name in FILES}
    return (
        (arrays["train-images-idx3-ubyte.gz"], arrays["train-labels-idx1-ubyte.gz"]),
        (arrays["t10k-images-idx3-ubyte.gz"], arrays["t10k-labels-idx1-ubyte.gz"]),
    )


def _download_with_keras() -> tuple[Split, Split]:
    import keras

    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    names = list(FILES)
    for name, array in zip(names, (x_train, y_train, x_test, y_test)):
        verify(name, array, "Keras' download")
    return (x_train, y_train), (x_test, y_test)


@functools.lru_cache(maxsize=1)
def load_raw() -> tuple[Split, Split]:
    """Return ``(x_train, y_train), (x_test, y_test)`` as the original uint8 arrays.

    The first directory of :func:`candidate_dirs` holding all four files is used; if none
    does, Keras downloads them. Every array is verified (:func:`verify`).

    Raises:
        DataCorruptError: a file was found but is damaged or is other data.
        DataNotFoundError: the folder named by ``FASHION_MNIST_DIR`` lacks some files, or
            no copy was found and the download failed.
    """
    chosen = os.environ.get(DATA_DIR_VARIABLE)
    searched = []
    for directory in candidate_dirs():
        present = [name for name in FILES if (directory / name).is_file()]
        if len(present) == len(FILES):
            return _load_from_dir(directory)
        missing = sorted(set(FILES) - set(present))
        if chosen and directory == Path(chosen).expanduser():
            raise DataNotFoundError(
                f"{DATA_DIR_VARIABLE} is set to {directory}, but that folder lacks "
                f"{', '.join(missing)}. Put the four original gzipped files there (the names "
                f"end in .gz), or unset {DATA_DIR_VARIABLE} to let the loader look elsewhere."
            )
        searched.append(f"  {directory}: missing {', '.join(missing)}")
    try:
        return _download_with_keras()
    except DataCorruptError:
        raise
    except Exception as error:  # any network or file error of the download
        raise DataNotFoundError(
            "Fashion-MNIST was not found and could not be downloaded "
            f"({type(error).__name__}: {error}).\nLooked in:\n"
            + "\n".join(searched)
            + "\n"
            + HOW_TO_GET_IT
        ) from error


def to_layout(images: np.ndarray, layout: Layout) -> np.ndarray:
    """Scale uint8 images of shape ``(n, 28, 28)`` to float32 in [0, 1] and reshape them.

    Args:
        images: uint8 array of shape ``(n, 28, 28)``.
        layout: ``"flat"`` gives ``(n, 784)`` for dense models, ``"image"`` gives
            ``(n, 28, 28, 1)`` for convolutional ones, ``"sequence"`` gives ``(n, 28, 28)``:
            28 time steps (rows) of 28 features (pixels) for recurrent ones.
    """
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"Expected images of shape (n, 28, 28), got {images.shape}.")
    if images.dtype != np.uint8:
        raise ValueError(f"Expected uint8 pixels in 0..255, got dtype {images.dtype}.")
    scaled = images.astype("float32") / 255.0
    shapes = {
        "flat": (-1, IMAGE_SIZE * IMAGE_SIZE),
        "image": (-1, IMAGE_SIZE, IMAGE_SIZE, 1),
        "sequence": (-1, IMAGE_SIZE, IMAGE_SIZE),
    }
    if layout not in shapes:
        raise ValueError(f"layout must be one of {sorted(shapes)}, got {layout!r}.")
    return scaled.reshape(shapes[layout])


def load_fashion_mnist(layout: Layout = "flat") -> tuple[Split, Split]:
    """Return ``(x_train, y_train), (x_test, y_test)`` with pixels as float32 in [0, 1].

    In the quick profile (the tests') only the first
    :data:`~aehelpers.profile.QUICK_TRAIN_IMAGES` training and
    :data:`~aehelpers.profile.QUICK_TEST_IMAGES` test images are returned.

    Args:
        layout: ``"flat"`` (784-vectors), ``"image"`` (28x28x1) or ``"sequence"``
            (28 steps of 28 pixels); see :func:`to_layout`.
    """
    (x_train, y_train), (x_test, y_test) = load_raw()
    if current_profile() == "quick":
        x_train, y_train = x_train[:QUICK_TRAIN_IMAGES], y_train[:QUICK_TRAIN_IMAGES]
        x_test, y_test = x_test[:QUICK_TEST_IMAGES], y_test[:QUICK_TEST_IMAGES]
    # Copies: the cached labels must not change when a reader edits what they were given.
    return (to_layout(x_train, layout), y_train.copy()), (to_layout(x_test, layout), y_test.copy())


def check_pixels(images: np.ndarray, name: str = "images") -> np.ndarray:
    """Return ``images`` as a float array after checking its values lie in [0, 1].

    Raises:
        ValueError: on NaNs or values outside [0, 1], with the offending range.
    """
    array = np.asarray(images, dtype="float64")
    if array.size == 0:
        raise ValueError(f"{name} is empty.")
    low, high = np.nanmin(array), np.nanmax(array)
    if np.isnan(array).any() or low < 0.0 or high > 1.0:
        raise ValueError(
            f"{name} must hold pixel values in [0, 1], found values in [{low}, {high}]"
            f"{' and NaNs' if np.isnan(array).any() else ''}. Divide uint8 images by 255."
        )
    return array


def binary_entropy_floor(images: np.ndarray) -> float:
    """Return the mean binary entropy of the pixels: the lowest binary cross-entropy possible.

    Binary cross-entropy of a target pixel ``x`` and a prediction ``x'`` is smallest, for
    fixed ``x``, at ``x' = x``, where it equals the binary entropy
    ``H(x) = -x log x - (1 - x) log(1 - x)`` (with ``0 log 0 = 0``). Averaged over all
    pixels this is the floor under any autoencoder's binary cross-entropy on ``images``.
    """
    x = check_pixels(images)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -(np.where(x > 0, x * np.log(x), 0.0) + np.where(x < 1, (1 - x) * np.log1p(-x), 0.0))
    return float(entropy.mean())


def add_gaussian_noise(images: np.ndarray, noise_factor: float, seed: int) -> np.ndarray:
    """Return ``clip(images + noise_factor * N(0, 1), 0, 1)`` as float32, repeatably.

    Args:
        images: pixels in [0, 1], any shape.
        noise_factor: standard deviation of the added Gaussian noise (non-negative).
        seed: seed of the noise, so that the corrupted copy is the same on every run.
    """
    if noise_factor < 0:
        raise ValueError(f"noise_factor must be non-negative, got {noise_factor}.")
    x = check_pixels(images)
    noise = np.random.default_rng(seed).standard_normal(x.shape)
    return np.clip(x + noise_factor * noise, 0.0, 1.0).astype("float32")

