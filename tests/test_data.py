import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from aehelpers import data
from aehelpers.data import (
    DataCorruptError,
    DataNotFoundError,
    add_gaussian_noise,
    binary_entropy_floor,
    candidate_dirs,
    check_pixels,
    load_fashion_mnist,
    read_idx,
    sha256_of,
    to_layout,
    verify,
)


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


@pytest.fixture
def no_cache(monkeypatch):
    data.load_raw.cache_clear()
    yield
    data.load_raw.cache_clear()


def test_search_order_starts_with_the_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    assert candidate_dirs() == [
        tmp_path,
        Path("/usr/share/datasets/fashion-mnist"),
        tmp_path / "kh" / "datasets" / "fashion-mnist",
    ]


def test_read_idx_round_trip(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", array)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), array)


def test_read_idx_rejects_a_truncated_file(tmp_path):
    array = np.zeros((5, 4), dtype=np.uint8)
    write_idx(tmp_path / "a.gz", array)
    raw = gzip.decompress((tmp_path / "a.gz").read_bytes())[:-3]
    (tmp_path / "a.gz").write_bytes(gzip.compress(raw))
    with pytest.raises(DataCorruptError, match="truncated"):
        read_idx(tmp_path / "a.gz")


def test_read_idx_rejects_a_file_cut_inside_its_header(tmp_path):
    (tmp_path / "a.gz").write_bytes(gzip.compress(bytes([0, 0, 0x08, 3]) + bytes(6)))
    with pytest.raises(DataCorruptError, match="ends inside its IDX header"):
        read_idx(tmp_path / "a.gz")


def test_read_idx_gives_a_writable_array(tmp_path):
    write_idx(tmp_path / "a.gz", np.arange(6, dtype=np.uint8))
    array = read_idx(tmp_path / "a.gz")
    array[0] = 7  # raises if the array were a read-only view of the decompressed bytes
    assert array[0] == 7


def test_read_idx_rejects_a_file_that_is_not_gzip(tmp_path):
    (tmp_path / "a.gz").write_bytes(b"<html>not found</html>")
    with pytest.raises(DataCorruptError, match="not a readable gzip file"):
        read_idx(tmp_path / "a.gz")


def test_verify_names_the_file_and_the_fix():
    with pytest.raises(DataCorruptError, match="(?s)t10k-labels-idx1-ubyte.gz.*checksum.*apt-get install"):
        verify("t10k-labels-idx1-ubyte.gz", np.zeros(10000, np.uint8), "somewhere")
    with pytest.raises(DataCorruptError, match=r"shape \(9999,\), expected \(10000,\)"):
        verify("t10k-labels-idx1-ubyte.gz", np.zeros(9999, np.uint8), "somewhere")


def test_real_data_has_the_known_checksums(fashion):
    (x_train, y_train), (x_test, y_test) = fashion
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert sha256_of(y_test) == data.FILES["t10k-labels-idx1-ubyte.gz"][1]
    assert sorted(np.unique(y_train)) == list(range(10))
    assert np.bincount(y_test).tolist() == [1000] * 10


def test_a_corrupt_copy_is_reported_not_used(fashion, monkeypatch, tmp_path, no_cache):
    source = next(d for d in candidate_dirs() if (d / "t10k-labels-idx1-ubyte.gz").is_file())
    for name in data.FILES:
        shutil.copy(source / name, tmp_path / name)
    labels = read_idx(tmp_path / "t10k-labels-idx1-ubyte.gz").copy()
    labels[0] = (labels[0] + 1) % 10  # one wrong label
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels)
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tmp_path))
    with pytest.raises(DataCorruptError, match="t10k-labels-idx1-ubyte.gz from " + str(tmp_path)):
        data.load_raw()


def test_an_incomplete_folder_named_by_the_variable_is_an_error(monkeypatch, tmp_path, no_cache):
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"")
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tmp_path))
    with pytest.raises(DataNotFoundError, match=r"(?s)FASHION_MNIST_DIR is set to .*lacks t10k-images"):
        data.load_raw()


def test_missing_data_lists_where_it_looked(monkeypatch, tmp_path, no_cache):
    monkeypatch.delenv("FASHION_MNIST_DIR", raising=False)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"")
    monkeypatch.setattr(data, "candidate_dirs", lambda: [tmp_path])

    def offline():
        raise OSError("network unreachable")

    monkeypatch.setattr(data, "_download_with_keras", offline)
    with pytest.raises(DataNotFoundError) as error:
        data.load_raw()
    message = str(error.value)
    assert str(tmp_path) in message and "t10k-images-idx3-ubyte.gz" in message
    assert "network unreachable" in message and "dataset-fashion-mnist" in message


@pytest.mark.parametrize(
    ("layout", "shape"), [("flat", (3, 784)), ("image", (3, 28, 28, 1)), ("sequence", (3, 28, 28))]
)
def test_layouts(layout, shape):
    images = np.full((3, 28, 28), 255, dtype=np.uint8)
    out = to_layout(images, layout)
    assert out.shape == shape and out.dtype == np.float32 and out.max() == 1.0


def test_to_layout_rejects_wrong_shapes_dtypes_and_layouts():
    with pytest.raises(ValueError, match=r"\(n, 28, 28\)"):
        to_layout(np.zeros((3, 784), np.uint8), "flat")
    with pytest.raises(ValueError, match="uint8"):
        to_layout(np.zeros((3, 28, 28), np.float32), "flat")
    with pytest.raises(ValueError, match="layout must be one of"):
        to_layout(np.zeros((3, 28, 28), np.uint8), "grid")


def test_load_fashion_mnist_scales_to_unit_interval():
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist("image")
    assert x_train.shape == (60000, 28, 28, 1) and x_test.shape == (10000, 28, 28, 1)
    assert x_test.min() == 0.0 and x_test.max() == 1.0
    assert y_train.shape == (60000,)
    y_train[0] = 255  # the reader's copy: editing it must not reach the cached data
    assert load_fashion_mnist()[0][1][0] != 255


def test_check_pixels_rejects_values_outside_unit_interval():
    with pytest.raises(ValueError, match=r"\[0\.0, 255\.0\]"):
        check_pixels(np.array([0.0, 255.0]))
    with pytest.raises(ValueError, match="NaN"):
        check_pixels(np.array([0.5, np.nan]))
    with pytest.raises(ValueError, match="empty"):
        check_pixels(np.array([]))


def test_entropy_floor_of_known_pixels():
    assert binary_entropy_floor(np.array([0.0, 1.0])) == 0.0
    assert binary_entropy_floor(np.array([0.5])) == pytest.approx(np.log(2))
    p = 0.2
    assert binary_entropy_floor(np.array([p])) == pytest.approx(-p * np.log(p) - (1 - p) * np.log(1 - p))


def test_entropy_floor_of_the_test_split_matches_the_spec():
    (_, _), (x_test, _) = load_fashion_mnist("flat")
    assert binary_entropy_floor(x_test) == pytest.approx(0.2422, abs=5e-5)


def test_noise_is_seeded_clipped_and_of_the_right_size(images):
    a = add_gaussian_noise(images, 0.5, seed=1)
    b = add_gaussian_noise(images, 0.5, seed=1)
    c = add_gaussian_noise(images, 0.5, seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.dtype == np.float32 and a.min() >= 0.0 and a.max() <= 1.0
    assert 0.2 < np.std(a - images) < 0.5  # clipping shrinks the 0.5 standard deviation
    np.testing.assert_array_equal(add_gaussian_noise(images, 0.0, seed=3), images)


def test_noise_rejects_bad_arguments(images):
    with pytest.raises(ValueError, match="non-negative"):
        add_gaussian_noise(images, -0.1, seed=0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        add_gaussian_noise(images * 255, 0.5, seed=0)
