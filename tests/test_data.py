"""Tests for grader.data: the IDX reader, Fashion-MNIST loading, download and fake data."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from grader.data import (
    CLASSES,
    FILES,
    DataError,
    DataMissing,
    Split,
    download,
    load,
    make_fake,
    raw_folder,
    read_idx,
    write_idx,
)

REAL_ROOT = Path("/work/shared/data")
FILES_TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
needs_real_data = pytest.mark.skipif(
    not all((raw_folder(REAL_ROOT) / name).is_file() for name in FILES),
    reason=f"real Fashion-MNIST not in {raw_folder(REAL_ROOT)}; run `grader data fetch`",
)


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


# --- the IDX reader -------------------------------------------------------------------------

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


def extreme_values(dtype: type) -> np.ndarray:
    """A (2, 3, 4) array that includes the dtype's smallest and largest values."""
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else np.finfo(dtype)
    values = np.linspace(max(info.min, -100), 100, 24).astype(dtype)
    values[0], values[-1] = info.min, info.max
    return values.reshape(2, 3, 4)


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_read_idx_round_trips_every_type(tmp_path, dtype, suffix):
    array = extreme_values(dtype)
    path = write_idx(tmp_path / f"a.idx{suffix}", array)
    assert path.read_bytes().startswith(b"\x1f\x8b") == (suffix == ".gz")
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    assert back.flags.writeable
    np.testing.assert_array_equal(back, array)


def test_read_idx_matches_hand_encoded_bytes(tmp_path):
    # Encoded here with struct, independently of write_idx: int16 (type 0x0B), shape (2, 3).
    values = [-32768, -1, 0, 1, 258, 32767]
    data = struct.pack(">BBBBII", 0, 0, 0x0B, 2, 2, 3) + struct.pack(">6h", *values)
    (tmp_path / "plain").write_bytes(data)
    (tmp_path / "zipped.gz").write_bytes(gzip.compress(data))
    expected = np.array(values, dtype=np.int16).reshape(2, 3)
    np.testing.assert_array_equal(read_idx(tmp_path / "plain"), expected)
    np.testing.assert_array_equal(read_idx(tmp_path / "zipped.gz"), expected)


def header(code: int, *shape: int) -> bytes:
    return struct.pack(f">BBBB{len(shape)}I", 0, 0, code, len(shape), *shape)


CORRUPT = {
    "empty": (b"", "too short"),
    "bad magic": (b"\x01\x00" + header(0x08, 2)[2:] + b"ab", "not an IDX file"),
    "unknown type": (header(0x0A, 2) + b"ab", "unknown type code 0x0A"),
    "header cut": (header(0x08, 60000, 28, 28)[:9], "declares 3 dimensions"),
    "payload cut": (header(0x08, 10, 28, 28) + bytes(7839), "truncated"),
    "trailing data": (header(0x0C, 2) + bytes(9), "trailing data"),
}


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("case", CORRUPT, ids=str)
def test_read_idx_rejects_corrupt_files(tmp_path, case, suffix):
    data, reason = CORRUPT[case]
    path = tmp_path / f"bad-idx1-ubyte{suffix}"
    path.write_bytes(gzip.compress(data) if suffix else data)
    with pytest.raises(DataError, match=reason) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_rejects_a_truncated_gzip_stream(tmp_path):
    zipped = gzip.compress(header(0x08, 100, 28, 28) + bytes(range(256)) * 306 + bytes(64))
    path = tmp_path / "cut.gz"
    path.write_bytes(zipped[: len(zipped) // 2])
    with pytest.raises(DataError, match="gzip stream is damaged") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_names_a_missing_file(tmp_path):
    with pytest.raises(DataError, match="cannot read .*nowhere.gz"):
        read_idx(tmp_path / "nowhere.gz")


@pytest.mark.parametrize("dtype", [np.bool_, np.uint16, np.int64, np.complex64])
def test_write_idx_refuses_types_idx_cannot_hold(tmp_path, dtype):
    with pytest.raises(TypeError, match="IDX cannot store"):
        write_idx(tmp_path / "x.idx", np.zeros(3, dtype=dtype))


# --- the real Fashion-MNIST -----------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> dict[str, Split]:
    return {split: load(REAL_ROOT, split) for split in ("train", "test")}


@needs_real_data
def test_real_files_match_torchvisions_md5s():
    for name, md5 in FILES.items():
        assert md5_of(raw_folder(REAL_ROOT) / name) == md5, name


@needs_real_data
@pytest.mark.parametrize("split,n", [("train", 60_000), ("test", 10_000)])
def test_load_real_split(real, split, n):
    data = real[split]
    assert len(data) == n
    assert data.images.shape == (n, 1, 28, 28) and data.images.dtype == torch.float32
    assert data.labels.shape == (n,) and data.labels.dtype == torch.int64
    assert data.images.min() == 0.0 and data.images.max() == 1.0
    # Every pixel is k / 255 for an integer k, as ToTensor produces.
    k = data.images * 255
    assert torch.equal(k, k.round())
    per_class = torch.bincount(data.labels, minlength=len(CLASSES))
    assert per_class.tolist() == [n // 10] * 10


@needs_real_data
def test_load_real_starts_with_the_published_labels(real):
    # The first labels of each split, as printed in the Fashion-MNIST README and tutorials.
    assert real["train"].labels[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert real["test"].labels[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]


@needs_real_data
def test_load_real_matches_torchvisions_reader(tmp_path, real):
    mnist = pytest.importorskip("torchvision.datasets.mnist", reason="torchvision not importable")
    plain = tmp_path / "t10k-images-idx3-ubyte"
    plain.write_bytes(gzip.decompress((raw_folder(REAL_ROOT) / FILES_TEST_IMAGES).read_bytes()))
    expected = mnist.read_image_file(str(plain)).unsqueeze(1).float().div(255)
    assert torch.equal(real["test"].images, expected)


@needs_real_data
def test_load_reads_uncompressed_files_too(tmp_path, real):
    folder = raw_folder(tmp_path)
    folder.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        data = gzip.decompress((raw_folder(REAL_ROOT) / name).read_bytes())
        (folder / name.removesuffix(".gz")).write_bytes(data)
    test = load(tmp_path, "test")
    assert torch.equal(test.images, real["test"].images)
    assert torch.equal(test.labels, real["test"].labels)


# --- the training images mapped from the user's cache ------------------------------------------


def _mapped_files() -> set[str]:
    """The files this process maps (read from /proc, as the kernel sees it)."""
    maps = Path("/proc/self/maps").read_text().splitlines()
    return {line.split(maxsplit=5)[5] for line in maps if len(line.split(maxsplit=5)) == 6}


def test_mapped_training_images_equal_the_decoded_ones_and_are_shared_from_one_file(
    tmp_path, monkeypatch
):
    root = make_fake(tmp_path / "data", n_train=600, n_test=100)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    decoded = load(root, "train")
    first = load(root, "train", mapped=True)  # decodes, and keeps the pixels for later
    [kept] = (tmp_path / "cache" / "grader").glob("fashion-mnist-train-*.npy")
    second = load(root, "train", mapped=True)
    assert torch.equal(first.images, decoded.images) and torch.equal(first.labels, decoded.labels)
    assert torch.equal(second.images, decoded.images)
    assert torch.equal(second.labels, decoded.labels)
    assert str(kept) in _mapped_files()  # the second load maps the kept file, decodes nothing
    second.images[0] = 7.0  # a write (student code's, in a child) stays in its own process
    assert torch.equal(load(root, "train", mapped=True).images, decoded.images)


def test_kept_pixels_that_are_damaged_or_cannot_be_written_cost_only_time(tmp_path, monkeypatch):
    root = make_fake(tmp_path / "data", n_train=600, n_test=100)
    decoded = load(root, "train")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    load(root, "train", mapped=True)
    [kept] = (tmp_path / "cache" / "grader").glob("fashion-mnist-train-*.npy")
    kept.write_bytes(kept.read_bytes()[:1000])  # cut short
    assert torch.equal(load(root, "train", mapped=True).images, decoded.images)
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert torch.equal(load(root, "train", mapped=True).images, decoded.images)


def test_a_new_download_is_decoded_afresh_and_the_test_set_is_never_kept(tmp_path, monkeypatch):
    root = make_fake(tmp_path / "data", n_train=600, n_test=100, seed=1)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    load(root, "train", mapped=True)
    make_fake(tmp_path / "data", n_train=600, n_test=100, seed=2, overwrite=True)
    assert torch.equal(load(root, "train", mapped=True).images, load(root, "train").images)
    with pytest.raises(ValueError, match="test set never leaves the data root"):
        load(root, "test", mapped=True)
    assert not list((tmp_path / "cache" / "grader").glob("*t10k*"))


# --- missing and malformed folders ----------------------------------------------------------


def test_load_missing_folder_says_how_to_download(tmp_path):
    with pytest.raises(DataMissing) as info:
        load(tmp_path, "train")
    message = str(info.value)
    assert isinstance(info.value, DataError)
    assert "\n" not in message
    assert str(raw_folder(tmp_path).absolute()) in message
    assert f"grader data fetch --data-root {tmp_path}" in message
    assert "GRADER_DATA" in message


def test_load_rejects_an_unknown_split(tmp_path):
    with pytest.raises(ValueError, match="'train' or 'test'"):
        load(tmp_path, "validation")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name,array,reason",
    [
        ("t10k-labels-idx1-ubyte.gz", np.zeros(99, np.uint8), "100 images but .* 99 labels"),
        ("t10k-labels-idx1-ubyte.gz", np.full(100, 10, np.uint8), "label 10 at index 0"),
        ("t10k-images-idx3-ubyte.gz", np.zeros((100, 27, 27), np.uint8), r"\(100, 27, 27\)"),
        ("t10k-images-idx3-ubyte.gz", np.zeros((100, 28, 28), np.float32), "float32"),
    ],
)
def test_load_rejects_files_that_are_not_fashion_mnist(tmp_path, name, array, reason):
    make_fake(tmp_path, n_train=10, n_test=100)
    write_idx(raw_folder(tmp_path) / name, array)
    with pytest.raises(DataError, match=reason):
        load(tmp_path, "test")


# --- fake data ------------------------------------------------------------------------------


def test_make_fake_loads_like_the_real_thing(tmp_path):
    root = make_fake(tmp_path, n_train=600, n_test=100)
    assert root == tmp_path
    for split, n in (("train", 600), ("test", 100)):
        data = load(root, split)
        assert data.images.shape == (n, 1, 28, 28) and data.images.dtype == torch.float32
        assert data.labels.dtype == torch.int64
        assert 0.0 <= data.images.min() and data.images.max() <= 1.0
        assert torch.bincount(data.labels, minlength=10).tolist() == [n // 10] * 10


def test_make_fake_is_reproducible_and_protects_existing_files(tmp_path):
    make_fake(tmp_path / "a", seed=3)
    make_fake(tmp_path / "b", seed=3)
    for name in FILES:
        assert md5_of(raw_folder(tmp_path / "a") / name) == md5_of(
            raw_folder(tmp_path / "b") / name
        )
    with pytest.raises(DataError, match="already holds"):
        make_fake(tmp_path / "a")
    make_fake(tmp_path / "a", seed=4, overwrite=True)
    assert md5_of(raw_folder(tmp_path / "a") / FILES_TEST_IMAGES) != md5_of(
        raw_folder(tmp_path / "b") / FILES_TEST_IMAGES
    )


def test_make_fake_is_learnable_by_softmax_regression(tmp_path):
    make_fake(tmp_path)
    train, test = load(tmp_path, "train"), load(tmp_path, "test")
    torch.manual_seed(0)
    W = torch.zeros(784, 10, requires_grad=True)
    b = torch.zeros(10, requires_grad=True)
    optimizer = torch.optim.SGD([W, b], lr=0.1)
    X = train.images.reshape(-1, 784)  # (600, 784)
    for _ in range(2):
        for batch in torch.randperm(len(train)).split(32):
            loss = torch.nn.functional.cross_entropy(X[batch] @ W + b, train.labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    predictions = (test.images.reshape(-1, 784) @ W + b).argmax(dim=1)  # (100,)
    assert (predictions == test.labels).float().mean() >= 0.95


# --- download -------------------------------------------------------------------------------


@pytest.fixture
def mirror(tmp_path) -> Path:
    """A folder holding copies of the real .gz files, to serve through file:// URLs."""
    if not all((raw_folder(REAL_ROOT) / name).is_file() for name in FILES):
        pytest.skip(f"real Fashion-MNIST not in {raw_folder(REAL_ROOT)}; nothing to mirror")
    folder = tmp_path / "mirror"
    folder.mkdir()
    for name in FILES:
        shutil.copyfile(raw_folder(REAL_ROOT) / name, folder / name)
    return folder


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in raw_folder(root).iterdir() if p.name not in FILES)


def test_download_from_a_file_mirror_loads_identically(tmp_path, mirror, real):
    root = tmp_path / "root"
    fetched = download(root, mirrors=[mirror.as_uri()])
    assert fetched == [raw_folder(root) / name for name in FILES]
    assert leftovers(root) == []
    for split in ("train", "test"):
        data = load(root, split)
        assert torch.equal(data.images, real[split].images)
        assert torch.equal(data.labels, real[split].labels)
    assert download(root, mirrors=[mirror.as_uri()]) == []


def test_download_replaces_a_damaged_file(tmp_path, mirror):
    root = tmp_path / "root"
    folder = raw_folder(root)
    folder.mkdir(parents=True)
    for name in FILES:
        shutil.copyfile(mirror / name, folder / name)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not the labels")
    assert download(root, mirrors=[mirror.as_uri() + "/"]) == [folder / "t10k-labels-idx1-ubyte.gz"]
    assert md5_of(folder / "t10k-labels-idx1-ubyte.gz") == FILES["t10k-labels-idx1-ubyte.gz"]


def test_download_rejects_a_corrupt_mirror_and_leaves_nothing(tmp_path, mirror):
    name = "train-labels-idx1-ubyte.gz"
    data = (mirror / name).read_bytes()
    (mirror / name).write_bytes(data[: len(data) // 2])
    actual = md5_of(mirror / name)
    root = tmp_path / "root"
    with pytest.raises(DataError) as info:
        download(root, mirrors=[mirror.as_uri()])
    message = str(info.value)
    assert name in message and FILES[name] in message and actual in message
    assert message.splitlines()[0].startswith(f"could not download {name}")
    # The file before it in FILES arrived; the corrupt one and any temporary file did not.
    assert sorted(p.name for p in raw_folder(root).iterdir()) == ["train-images-idx3-ubyte.gz"]


def test_download_falls_back_to_the_next_mirror(tmp_path, mirror):
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    root = tmp_path / "root"
    fetched = download(root, mirrors=[empty.as_uri(), mirror.as_uri()])
    assert len(fetched) == 4 and leftovers(root) == []


def test_download_with_no_reachable_mirror_names_the_file(tmp_path):
    with pytest.raises(DataError, match="could not download train-images-idx3-ubyte.gz"):
        download(tmp_path / "root", mirrors=[(tmp_path / "nowhere").as_uri()])
    assert leftovers(tmp_path / "root") == []


# --- where the data lives -------------------------------------------------------------------


def test_the_data_is_found_from_any_folder_once_fetched(tmp_path, monkeypatch):
    """Issue 19, item 7: --data-root, else $GRADER_DATA, else ./data where it holds the data,
    else the user's data folder that `grader data fetch` fills from anywhere."""
    from grader import options

    monkeypatch.delenv(options.DATA_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    assert options.data_root() == tmp_path / "xdg" / "grader"  # no ./data here
    (tmp_path / "data").mkdir()
    assert options.data_root() == tmp_path / "xdg" / "grader"  # an empty ./data is not it
    (tmp_path / "data" / "FashionMNIST").mkdir()
    assert options.data_root() == Path("data")
    monkeypatch.setenv(options.DATA_ENV, str(tmp_path / "env"))
    assert options.data_root() == tmp_path / "env"
    assert options.data_root(tmp_path / "given") == tmp_path / "given"
    assert options.data_root(str(tmp_path / "given")) == tmp_path / "given"
    monkeypatch.setenv(options.DATA_ENV, "")  # set but empty: as if unset
    assert options.data_root() == Path("data")
