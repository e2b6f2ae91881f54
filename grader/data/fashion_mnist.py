"""Fashion-MNIST: find, validate, load and download it, in torchvision's folder layout.

The files live in ROOT/FashionMNIST/raw/, so a folder prepared by
``torchvision.datasets.FashionMNIST(ROOT, download=True)`` works here and vice versa.

Loading always goes through the project's own IDX reader, never torchvision: torchvision is
not a dependency (PyPI's wheel fails to import against CPU-only torch builds with "operator
torchvision::nms does not exist"), and its FashionMNIST class only reads the uncompressed
files its own download() extracts, so a folder with just the .gz files would fail there.
One code path is also one that the tests exercise. The pixels match ToTensor exactly:
uint8 -> float32, divided by 255.
"""

from __future__ import annotations

import hashlib
import http.client
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from grader import options
from grader.data.idx import DataError, read_idx, write_idx
from grader.files import written_whole

__all__ = [
    "CLASSES",
    "FILES",
    "MIRRORS",
    "DataMissing",
    "Split",
    "download",
    "load",
    "make_fake",
    "raw_folder",
]

# File name -> md5, as published in torchvision.datasets.FashionMNIST.resources; checked
# against the copies in /work/shared/data, which hash to the same values.
FILES: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
MIRRORS: tuple[str, ...] = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
CLASSES: tuple[str, ...] = (
    "t-shirt",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
)
_SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_SIDE = 28
_CHUNK = 1 << 20


class DataMissing(DataError):
    """The Fashion-MNIST files are not where the grader looked."""


@dataclass(frozen=True, eq=False)  # eq=False: comparing tensors with == has no single truth value
class Split:
    """One split of Fashion-MNIST, as tensors ready for a model."""

    images: torch.Tensor  # (n, 1, 28, 28) float32 in [0, 1], like torchvision's ToTensor
    labels: torch.Tensor  # (n,) int64 class indices into CLASSES

    def __len__(self) -> int:
        return self.labels.shape[0]


def raw_folder(root: str | Path) -> Path:
    """The folder holding the four .gz files: ROOT/FashionMNIST/raw."""
    return Path(root) / "FashionMNIST" / "raw"


def load(root: str | Path, split: Literal["train", "test"], *, mapped: bool = False) -> Split:
    """Load one split of Fashion-MNIST from ROOT/FashionMNIST/raw.

    Args:
        root: the data root (see grader.options.data_root).
        split: "train" (60,000 examples) or "test" (10,000).
        mapped: the training images from a file of ready pixels in the user's cache folder,
            written on first use and mapped copy-on-write: no decoding, and every process on
            the machine shares one copy in memory. Never the test set, which stays in the data
            root, where the sandbox hides it.

    Returns:
        The split's images and labels.

    Raises:
        DataMissing: a file of the split is not in the folder.
        DataError: a file is corrupt or does not hold 28x28 images with labels 0..9.
    """
    if split not in _SPLIT_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if mapped and split != "train":
        raise ValueError("only the training images are mapped: the test set never leaves the "
                         "data root")
    image_path, label_path = (_find(root, name) for name in _SPLIT_FILES[split])
    labels = read_idx(label_path)  # (n,) uint8
    pixels = _mapped(image_path, len(labels)) if mapped else None
    if pixels is None:
        images = read_idx(image_path)  # (n, 28, 28) uint8
        _validate(images, labels, image_path, label_path)
        # torch.from_numpy shares memory; the float32 copy and div match ToTensor's arithmetic.
        pixels = torch.from_numpy(images).unsqueeze(1).to(torch.float32).div_(255)
        if mapped:
            _keep(pixels, image_path)
    else:
        _validate_labels(labels, label_path)
    return Split(images=pixels, labels=torch.from_numpy(labels).to(torch.int64))


def _cached_file(image_path: Path) -> Path:
    """Where the pixels of ``image_path`` are kept: named after its path, size and time, so a
    new download is decoded afresh."""
    _, size, time = _file_identity(image_path)
    key = f"{image_path.resolve()}:{size}:{time}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return options.user_cache() / f"fashion-mnist-{image_path.name.split('-')[0]}-{digest}.npy"


def _file_identity(path: Path) -> tuple[str, int, int]:
    """What tells one copy of a file from another without reading it: its name, size and time."""
    info = path.stat()
    return path.name, info.st_size, info.st_mtime_ns


def _mapped(image_path: Path, count: int) -> torch.Tensor | None:
    """The kept pixels, mapped copy-on-write; None where there are none (or they do not fit)."""
    try:
        array = np.load(_cached_file(image_path), mmap_mode="c")
    except (OSError, ValueError):
        return None
    if array.dtype != np.float32 or array.shape != (count, 1, _SIDE, _SIDE):
        return None
    return torch.from_numpy(array)


def _keep(pixels: torch.Tensor, image_path: Path) -> None:
    """Write the pixels for the next process, whole; a cache that cannot be written is only
    slower."""
    try:
        with written_whole(_cached_file(image_path)) as partial, partial.open("wb") as f:
            np.save(f, pixels.numpy())
    except OSError:
        pass


def identity(root: str | Path) -> list[tuple[str, int, int]]:
    """What tells one copy of the data from another without reading it: each file's name,
    size and time (a new download is another copy)."""
    try:
        return sorted(_file_identity(f) for f in raw_folder(root).iterdir() if f.is_file())
    except OSError:
        return []


def check_files(root: str | Path) -> None:
    """Raise DataMissing, naming the fix, unless all four files are present (cheap: no reading)."""
    for names in _SPLIT_FILES.values():
        for name in names:
            _find(root, name)


def _find(root: str | Path, name: str) -> Path:
    """The .gz file, or the uncompressed copy that torchvision's download also leaves."""
    folder = raw_folder(root)
    for candidate in (folder / name, folder / name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    raise DataMissing(
        f"Fashion-MNIST file {name} not found in {folder.absolute()}; run "
        f"`grader data fetch --data-root {Path(root)}` (or pass --data-root / set "
        f"{options.DATA_ENV} to the folder that holds FashionMNIST/raw)"
    )


def _validate(images: np.ndarray, labels: np.ndarray, image_path: Path, label_path: Path) -> None:
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (_SIDE, _SIDE):
        raise DataError(
            f"{image_path} holds {images.dtype} of shape {images.shape}, expected uint8 "
            f"(n, {_SIDE}, {_SIDE}); delete it and download it again"
        )
    _validate_labels(labels, label_path)
    if len(images) != len(labels):
        raise DataError(
            f"{image_path.name} has {len(images)} images but {label_path.name} has "
            f"{len(labels)} labels; the two files come from different sets, download both again"
        )


def _validate_labels(labels: np.ndarray, label_path: Path) -> None:
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DataError(
            f"{label_path} holds {labels.dtype} of shape {labels.shape}, expected uint8 (n,); "
            "delete it and download it again"
        )
    if labels.size and labels.max() >= len(CLASSES):
        bad = int(np.argmax(labels >= len(CLASSES)))
        raise DataError(
            f"{label_path} has label {labels[bad]} at index {bad}, expected 0..{len(CLASSES) - 1}; "
            "delete it and download it again"
        )


def download(
    root: str | Path, *, mirrors: Sequence[str] = MIRRORS, timeout: float = 30
) -> list[Path]:
    """Fetch the Fashion-MNIST files that are missing or damaged into ROOT/FashionMNIST/raw.

    Each file is written to a temporary name, checked against its md5 and only then renamed
    into place, so an interrupted or corrupt download leaves nothing behind.

    Args:
        root: the data root.
        mirrors: base URLs tried in order; file:// URLs work too.
        timeout: seconds to wait on each connection.

    Returns:
        The files downloaded; files already present with the right md5 are skipped.

    Raises:
        DataError: a file could not be fetched with the right md5 from any mirror.
    """
    folder = raw_folder(root)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(
            f"cannot create {folder}: {error.strerror or error}; pass --data-root to a "
            "folder you can write to"
        ) from error
    fetched = []
    for name, md5 in FILES.items():
        target = folder / name
        if target.is_file() and _md5(target) == md5:
            continue
        _fetch(name, md5, target, mirrors, timeout)
        fetched.append(target)
    return fetched


def _fetch(name: str, md5: str, target: Path, mirrors: Sequence[str], timeout: float) -> None:
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        try:
            _fetch_one(url, md5, target, timeout)
            return
        except (OSError, ValueError, http.client.HTTPException, DataError) as error:
            failures.append(f"{url}: {error}")
    raise DataError(  # one line: the command line shows an error as one
        f"could not download {name} (expected md5 {md5}) from any mirror; check the network "
        f"or copy the file into {target.parent} by hand ({'; '.join(failures)})"
    )


def _fetch_one(url: str, md5: str, target: Path, timeout: float) -> None:
    """Stream url into a file beside target, verify it, then rename it into place."""
    # Some servers refuse urllib's default user agent; torchvision sends its own for this reason.
    request = urllib.request.Request(url, headers={"User-Agent": "grader (d2l chapter 3)"})
    digest = hashlib.md5(usedforsecurity=False)
    # written whole: readers never see a partial file, and a bad one never replaces a good one
    with written_whole(target) as partial, partial.open("wb") as out:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            while chunk := response.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != md5:
            raise DataError(
                f"{target.name} has md5 {digest.hexdigest()}, expected {md5} (corrupt or "
                "truncated download)"
            )


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def make_fake(
    root: str | Path,
    *,
    n_train: int = 600,
    n_test: int = 100,
    seed: int = 0,
    overwrite: bool = False,
) -> Path:
    """Write a small, easily learnable stand-in for Fashion-MNIST in the same layout.

    Each class has a fixed random 28x28 template; an image is its class's template plus
    Gaussian noise, so softmax regression separates the classes within a few epochs.
    Labels cycle through the classes, so every class has n // 10 or n // 10 + 1 examples.

    Args:
        root: the data root to write ROOT/FashionMNIST/raw into.
        n_train: number of training examples.
        n_test: number of test examples.
        seed: seed for the templates, noise and order.
        overwrite: replace files already in the folder (refused by default, so a fake
            set never silently replaces the real one).

    Returns:
        root, ready for load(root, split).
    """
    folder = raw_folder(root)
    existing = [name for name in FILES if (folder / name).exists()]
    if existing and not overwrite:
        raise DataError(
            f"{folder} already holds {', '.join(existing)}; choose an empty folder for fake "
            "data or pass overwrite=True"
        )
    rng = np.random.default_rng(seed)
    templates = (rng.random((len(CLASSES), _SIDE, _SIDE)) < 0.3) * 180.0 + 40.0  # (10, 28, 28)
    for split, n in (("train", n_train), ("test", n_test)):
        labels = rng.permutation(np.arange(n) % len(CLASSES)).astype(np.uint8)  # (n,)
        noise = rng.normal(0.0, 35.0, size=(n, _SIDE, _SIDE))  # (n, 28, 28)
        images = np.clip(templates[labels] + noise, 0, 255).round().astype(np.uint8)
        image_name, label_name = _SPLIT_FILES[split]
        write_idx(folder / image_name, images)
        write_idx(folder / label_name, labels)
    return Path(root)
