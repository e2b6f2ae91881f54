"""Read and write IDX files, the format Fashion-MNIST (and MNIST) ship in.

An IDX file is a 4-byte magic (two zero bytes, a type code, the number of dimensions), one
big-endian uint32 size per dimension, then the values in C order, big-endian. The files are
usually gzipped; the reader tells the two apart by the first bytes, not the file name.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from grader.outcomes import UsageError

__all__ = ["DataError", "read_idx", "write_idx", "TYPE_CODES"]

# Type code -> big-endian numpy dtype, as defined by LeCun's MNIST page.
TYPE_CODES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_FOR_KIND = {(dt.kind, dt.itemsize): code for code, dt in TYPE_CODES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


class DataError(UsageError):
    """A data file is missing, corrupt or not what the grader expects."""


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file, plain or gzipped.

    Args:
        path: the file to read.

    Returns:
        A writable, native-byte-order array with the file's shape and dtype.

    Raises:
        DataError: the file cannot be read, is not IDX, or its payload does not match its header.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise _corrupt(path, f"it is {len(raw)} bytes long, too short for the 4-byte IDX magic")
    zero1, zero2, code, ndim = raw[0], raw[1], raw[2], raw[3]
    if zero1 != 0 or zero2 != 0:
        raise _corrupt(path, f"magic starts with {raw[:2].hex()}, expected 0000 (not an IDX file)")
    if code not in TYPE_CODES:
        known = ", ".join(f"0x{c:02X}" for c in TYPE_CODES)
        raise _corrupt(path, f"unknown type code 0x{code:02X} (known: {known})")
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise _corrupt(
            path, f"header declares {ndim} dimensions but the file ends at byte {len(raw)}"
        )
    shape = struct.unpack(f">{ndim}I", raw[4:header_len])
    dtype = TYPE_CODES[code]
    expected = math.prod(shape) * dtype.itemsize
    actual = len(raw) - header_len
    if actual != expected:
        raise _corrupt(
            path,
            f"header says shape {shape} of {dtype.name} ({expected} payload bytes) "
            f"but the file has {actual} ({'truncated' if actual < expected else 'trailing data'})",
        )
    values = np.frombuffer(raw, dtype=dtype, count=math.prod(shape), offset=header_len)
    # astype copies: the result is writable (frombuffer over bytes is read-only, which
    # torch.from_numpy warns about) and in native byte order, which torch requires.
    return values.reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write an array as an IDX file, gzipped if the path ends with .gz.

    Args:
        path: where to write; parent folders are created.
        array: uint8, int8, int16, int32, float32 or float64 values, at most 255 dimensions.

    Returns:
        The path written.
    """
    path = Path(path)
    array = np.asarray(array)
    code = _CODE_FOR_KIND.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        supported = ", ".join(dt.newbyteorder("=").name for dt in TYPE_CODES.values())
        raise TypeError(f"IDX cannot store {array.dtype}; convert to one of: {supported}")
    if array.ndim > 255:
        raise ValueError(f"IDX stores at most 255 dimensions, got {array.ndim}")
    header = struct.pack(f">BBBB{array.ndim}I", 0, 0, code, array.ndim, *array.shape)
    payload = header + np.ascontiguousarray(array, dtype=TYPE_CODES[code]).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        # mtime=0 makes the bytes reproducible, so fake data sets have stable checksums.
        payload = gzip.compress(payload, compresslevel=6, mtime=0)
    path.write_bytes(payload)
    return path


def _read_bytes(path: Path) -> bytes:
    """Return the file's bytes, decompressed if they are gzip."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror or error}") from error
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise _corrupt(path, f"gzip stream is damaged ({error})") from error


def _corrupt(path: Path, what: str) -> DataError:
    return DataError(f"{path} is corrupt: {what}; delete it and download it again")
