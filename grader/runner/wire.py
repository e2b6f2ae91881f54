"""Values across the process boundary: a JSON skeleton plus tensors in safetensors format.

Nothing here unpickles. The parent treats every byte from the child as hostile: frame sizes,
tensor counts, dtypes and shapes are checked before anything is parsed, and tensors come back
as plain ``torch.Tensor`` built from raw bytes, whatever class the student's code returned.
"""

from __future__ import annotations

import json
import math
import socket
import struct
from dataclasses import dataclass
from typing import Any

import torch

from grader.numeric.compare import Opaque
from grader.outcomes import GraderError

MAX_FRAME = 256 * 2**20  # bytes; the largest legitimate reply (a data_iter pass) is far smaller
MAX_TENSORS = 4096
MAX_SKELETON = 4 * 2**20  # bytes of JSON
MAX_STR = 2000  # characters kept of a string the student returned

_DTYPES = {
    torch.float64: "F64",
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}
_FROM_CODE = {code: dtype for dtype, code in _DTYPES.items()}
_HEADER = struct.Struct("<II")  # skeleton length, tensor blob length


class WireError(GraderError):
    """The other side sent something that is not a well-formed message."""


@dataclass(frozen=True)
class TensorMeta:
    """What the child saw of a returned tensor before it was copied to bytes."""

    device: str
    requires_grad: bool
    is_leaf: bool
    type_name: str  # the class the student returned, e.g. "Tensor" or a subclass's name


def encode(value: Any) -> tuple[bytes, list[TensorMeta]]:
    """Serialize ``value`` into one frame payload; used on both sides."""
    tensors: list[torch.Tensor] = []
    metas: list[TensorMeta] = []
    skeleton = _encode_value(value, tensors, metas, depth=0)
    body = json.dumps(skeleton, allow_nan=True).encode()
    blob = _safetensors(tensors, metas)
    return _HEADER.pack(len(body), len(blob)) + body + blob, metas


def decode(payload: bytes) -> tuple[Any, list[TensorMeta]]:
    """Parse a frame payload from ``encode``; raises ``WireError`` on anything malformed."""
    try:
        return _decode(payload)
    except WireError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError, RuntimeError,
            OverflowError, MemoryError) as err:  # whatever a forged frame provokes
        raise WireError(f"malformed message ({type(err).__name__}: {str(err)[:200]})") from None


def _decode(payload: bytes) -> tuple[Any, list[TensorMeta]]:
    if len(payload) < _HEADER.size:
        raise WireError("truncated message")
    body_len, blob_len = _HEADER.unpack_from(payload)
    if body_len > MAX_SKELETON or _HEADER.size + body_len + blob_len != len(payload):
        raise WireError("message lengths do not add up")
    try:
        skeleton = json.loads(payload[_HEADER.size : _HEADER.size + body_len])
    except ValueError as err:
        raise WireError(f"skeleton is not JSON: {err}") from None
    tensors, metas = _parse_safetensors(memoryview(payload)[_HEADER.size + body_len :])
    return _decode_value(skeleton, tensors, depth=0), metas


def send(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(struct.pack("<Q", len(payload)) + payload)


def recv(sock: socket.socket) -> bytes:
    """One frame; ``EOFError`` if the peer closed, ``WireError`` if it is oversized."""
    (size,) = struct.unpack("<Q", _recv_exact(sock, 8))
    if size > MAX_FRAME:
        raise WireError(f"message of {size} bytes exceeds the {MAX_FRAME}-byte limit")
    return _recv_exact(sock, size)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    buf = bytearray(size)
    view, got = memoryview(buf), 0
    while got < size:
        n = sock.recv_into(view[got:])
        if n == 0:
            raise EOFError("peer closed the connection")
        got += n
    return bytes(buf)


def _encode_value(value: Any, tensors: list, metas: list, depth: int) -> Any:
    if depth > 32:
        return {"opaque": "deeply nested object"}
    if isinstance(value, torch.Tensor):
        return {"tensor": _add_tensor(value, tensors, metas)}
    if value is None or isinstance(value, (bool, str)):
        return {"py": value if not isinstance(value, str) else value[:MAX_STR]}
    if isinstance(value, int):
        if value.bit_length() > 14_000:  # past Python's 4300-digit str limit: name it instead
            return {"opaque": f"int of {value.bit_length()} bits"}
        return {"int": str(value)}  # as text: JSON integers lose precision past 2**53
    if isinstance(value, float):
        return {"float": value}
    if isinstance(value, (tuple, list)):
        kind = "tuple" if isinstance(value, tuple) else "list"
        return {kind: [_encode_value(v, tensors, metas, depth + 1) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": {k: _encode_value(v, tensors, metas, depth + 1) for k, v in value.items()}}
    if type(value).__module__ == "numpy" and hasattr(value, "dtype"):
        return {"numpy": _encode_value(torch.as_tensor(value), tensors, metas, depth + 1)}
    return {"opaque": type(value).__qualname__[:200]}


def _add_tensor(t: torch.Tensor, tensors: list, metas: list) -> int:
    meta = TensorMeta(
        device=str(t.device),
        requires_grad=bool(t.requires_grad),
        is_leaf=bool(t.is_leaf),
        type_name=type(t).__qualname__,
    )
    plain = torch.Tensor.as_subclass(t.detach(), torch.Tensor).to("cpu")
    if plain.dtype not in _DTYPES:
        plain = plain.to(torch.float64)
    tensors.append(plain)
    metas.append(meta)
    return len(tensors) - 1


def _safetensors(tensors: list[torch.Tensor], metas: list[TensorMeta]) -> bytes:
    header: dict[str, Any] = {}
    chunks, offset = [], 0
    for i, t in enumerate(tensors):
        data = _raw_bytes(t) if t.numel() else b""
        header[str(i)] = {
            "dtype": _DTYPES[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    header["__metadata__"] = {str(i): json.dumps(m.__dict__) for i, m in enumerate(metas)}
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)  # safetensors aligns the data section to 8 bytes
    return struct.pack("<Q", len(head)) + head + b"".join(chunks)


def _raw_bytes(t: torch.Tensor) -> bytes:
    """C-order bytes whatever the strides (torch calls a (1,) tensor of stride 50 contiguous)."""
    if t.dtype is torch.bfloat16:  # numpy has no bfloat16; same-size views ignore strides
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def _parse_safetensors(blob: memoryview) -> tuple[list[torch.Tensor], list[TensorMeta]]:
    if len(blob) < 8:
        raise WireError("tensor section truncated")
    (head_len,) = struct.unpack_from("<Q", blob)
    if head_len > MAX_SKELETON or 8 + head_len > len(blob):
        raise WireError("tensor header length out of range")
    try:
        header = json.loads(bytes(blob[8 : 8 + head_len]))
        meta_json = header.pop("__metadata__", {})
        count = len(header)
        if count > MAX_TENSORS:
            raise WireError(f"{count} tensors exceed the limit of {MAX_TENSORS}")
        data = blob[8 + head_len :]
        tensors = [_parse_tensor(header[str(i)], data) for i in range(count)]
        metas = [TensorMeta(**json.loads(meta_json[str(i)])) for i in range(count)]
    except (KeyError, TypeError, ValueError) as err:
        raise WireError(f"malformed tensor header: {err!r}") from None
    return tensors, metas


def _parse_tensor(entry: dict, data: memoryview) -> torch.Tensor:
    dtype = _FROM_CODE.get(entry["dtype"])
    shape = entry["shape"]
    start, end = entry["data_offsets"]
    if dtype is None:
        raise WireError(f"unsupported dtype {entry['dtype']!r}")
    if not all(isinstance(s, int) and 0 <= s < 2**40 for s in shape) or len(shape) > 16:
        raise WireError(f"bad shape {shape!r}")
    itemsize = torch.empty((), dtype=dtype).element_size()
    if not (0 <= start <= end <= len(data)) or end - start != math.prod(shape) * itemsize:
        raise WireError(f"tensor of shape {shape} does not match its {end - start} bytes")
    raw = bytearray(data[start:end])
    if not raw:
        return torch.empty(shape, dtype=dtype)
    return torch.frombuffer(raw, dtype=dtype).reshape(shape)


def _decode_value(node: Any, tensors: list[torch.Tensor], depth: int) -> Any:
    if depth > 40 or not isinstance(node, dict) or len(node) != 1:
        raise WireError("malformed value")
    ((kind, item),) = node.items()
    if kind == "tensor":
        if not isinstance(item, int) or not 0 <= item < len(tensors):
            raise WireError("tensor reference out of range")
        return tensors[item]
    if kind == "py" and (item is None or isinstance(item, (bool, str))):
        return item
    if kind == "int" and isinstance(item, str) and len(item) <= 4300:
        return int(item)
    if kind == "float" and isinstance(item, (int, float)) and not isinstance(item, bool):
        return float(item)
    if kind in ("tuple", "list") and isinstance(item, list):
        items = [_decode_value(v, tensors, depth + 1) for v in item]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict" and isinstance(item, dict):
        return {str(k): _decode_value(v, tensors, depth + 1) for k, v in item.items()}
    if kind == "numpy":
        return _decode_value(item, tensors, depth + 1)
    if kind == "opaque" and isinstance(item, str):
        return Opaque(item[:200])
    raise WireError(f"unknown value kind {kind!r}")
