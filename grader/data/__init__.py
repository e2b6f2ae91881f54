"""The data layer: Fashion-MNIST on disk, loaded as tensors.

``load(root, "train")`` returns a Split of (n, 1, 28, 28) float32 images in [0, 1] and (n,)
int64 labels from ROOT/FashionMNIST/raw (torchvision's layout); ``download(root)`` fetches
the files with md5 checks; ``make_fake(root)`` writes a small learnable stand-in for tests.
Every problem with the files is a DataError (a UsageError). Imports outcomes and options only.
"""

from grader.data.fashion_mnist import (
    CLASSES,
    FILES,
    MIRRORS,
    DataMissing,
    Split,
    check_files,
    download,
    load,
    make_fake,
    raw_folder,
)
from grader.data.idx import DataError, read_idx, write_idx

__all__ = [
    "CLASSES",
    "FILES",
    "MIRRORS",
    "DataError",
    "DataMissing",
    "Split",
    "check_files",
    "download",
    "load",
    "make_fake",
    "raw_folder",
    "read_idx",
    "write_idx",
]
