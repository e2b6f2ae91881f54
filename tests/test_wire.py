"""grader.runner.wire: values survive the trip, and malformed bytes are refused, never parsed."""

from __future__ import annotations

import json
import math
import socket
import struct

import numpy as np
import pytest
import torch

from grader.runner import wire
from grader.runner.wire import Opaque, WireError


def round_trip(value):
    payload, _ = wire.encode(value)
    decoded, _ = wire.decode(payload)
    return decoded


def frame(skeleton, tensors: dict | None = None, data: bytes = b"", metadata=None) -> bytes:
    """A payload built by hand from the documented layout, independently of ``encode``.

    Layout: <u32 skeleton length><u32 tensor section length><JSON skeleton><tensor section>,
    the tensor section being safetensors: <u64 header length><JSON header><raw data>.
    """
    header = dict(tensors or {})
    count = len(header)
    header["__metadata__"] = metadata if metadata is not None else {
        str(i): json.dumps({"device": "cpu", "requires_grad": False, "is_leaf": True,
                            "type_name": "Tensor"})
        for i in range(count)
    }
    head = json.dumps(header).encode()
    section = struct.pack("<Q", len(head)) + head + data
    body = json.dumps(skeleton).encode()
    return struct.pack("<II", len(body), len(section)) + body + section


# --- plain values ----------------------------------------------------------------------------


PLAIN_VALUES = {
    "none": None,
    "bools": [True, False],
    "string": "héllo, wörld ∑",
    "empty containers": ((), [], {}),
    "small ints": (0, -1, 7),
    "ints beyond 2**53": [2**53 + 1, -(2**63) - 5, 2**64 + 1, 3**200],
    "floats": (0.1, -2.5e-308, 1.7976931348623157e308),
    "nested": {"a": [1, (2.5, "x"), {"b": None}], "c": ([], ((True,),))},
}


@pytest.mark.parametrize("value", PLAIN_VALUES.values(), ids=PLAIN_VALUES.keys())
def test_plain_values_round_trip_exactly(value):
    back = round_trip(value)
    assert back == value
    assert repr(back) == repr(value)  # tuples stay tuples, lists lists, bools bools


def test_ints_keep_their_type_and_every_digit():
    back = round_trip([2**53 + 1, True, 1])
    assert back[0] == 9007199254740993 and type(back[0]) is int
    assert back[1] is True
    assert type(back[2]) is int


def test_non_finite_floats_round_trip():
    pos, neg, nan = round_trip((math.inf, -math.inf, math.nan))
    assert pos == math.inf and neg == -math.inf
    assert math.isnan(nan)


def test_long_strings_are_cut_to_max_str():
    assert round_trip("x" * (wire.MAX_STR + 10)) == "x" * wire.MAX_STR


def test_every_int_that_encode_writes_decode_accepts():
    # math.factorial(300) has 615 digits: a plausible thing for a function to return.
    value = math.factorial(300)
    assert round_trip(value) == value


def test_numpy_arrays_come_back_as_tensors():
    back = round_trip(np.arange(6, dtype=np.int32).reshape(2, 3))
    assert type(back) is torch.Tensor
    assert torch.equal(back, torch.arange(6, dtype=torch.int32).reshape(2, 3))


# --- opaque objects --------------------------------------------------------------------------


def _generator():
    yield 1


OPAQUE = {
    "generator": (_generator(), "generator"),
    "object": (object(), "object"),
    "set": ({1, 2}, "set"),
    "dict with int keys": ({1: "a"}, "dict"),
    "function": (len, "builtin_function_or_method"),
}


@pytest.mark.parametrize("value,type_name", OPAQUE.values(), ids=OPAQUE.keys())
def test_objects_the_wire_cannot_carry_come_back_named_by_type(value, type_name):
    assert round_trip(value) == Opaque(type_name)


def test_opaque_inside_a_tuple_keeps_its_neighbours():
    assert round_trip((1, _generator(), "z")) == (1, Opaque("generator"), "z")


# --- tensors ---------------------------------------------------------------------------------


DTYPES = [
    torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.int64, torch.int32,
    torch.int16, torch.int8, torch.uint8, torch.bool,
]


def sample(dtype: torch.dtype, shape=(3, 4)) -> torch.Tensor:
    values = torch.arange(math.prod(shape), dtype=torch.float64).reshape(shape) - 5  # (3, 4)
    if dtype is torch.bool:
        return values.remainder(3) == 0
    if dtype is torch.uint8:
        return (values + 5).to(dtype)
    return (values * 1.5 if dtype.is_floating_point else values).to(dtype)


def assert_identical(got: torch.Tensor, want: torch.Tensor) -> None:
    assert type(got) is torch.Tensor
    assert got.dtype == want.dtype
    assert got.shape == want.shape
    assert torch.equal(got, want)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_tensors_of_every_supported_dtype_round_trip(dtype):
    t = sample(dtype)
    assert_identical(round_trip(t), t)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_non_contiguous_tensors_round_trip(dtype):
    t = sample(dtype, (4, 6))
    for view in (t.T, t[:, ::2], t.flip(0)[1:, 1::3]):
        assert_identical(round_trip(view), view.contiguous())


SHAPES = {
    "0-d": torch.tensor(3.25),
    "empty": torch.empty(0, 3),
    "empty 1-d int": torch.empty(0, dtype=torch.int64),
    "strided one element": torch.arange(100.0)[50::50],  # shape (1,), stride 50
    "strided one element 2-d": torch.arange(100.0).reshape(10, 10)[3:4, 7:8],
    "expanded": torch.tensor([1.0, 2.0]).expand(3, 2),
    "large": torch.randn(256, 257),
}


@pytest.mark.parametrize("t", SHAPES.values(), ids=SHAPES.keys())
def test_tensors_of_odd_shapes_and_strides_round_trip(t):
    assert_identical(round_trip(t), t.contiguous())


def test_unsupported_dtypes_come_back_as_float64_with_the_same_values():
    t = torch.tensor([0, 1, 65535], dtype=torch.uint16)
    back = round_trip(t)
    assert back.dtype == torch.float64
    assert back.tolist() == [0.0, 1.0, 65535.0]


class Tagged(torch.Tensor):
    """A student's Tensor subclass: it must not survive the trip."""


SUBCLASSES = {
    "subclass": (torch.randn(2, 3).as_subclass(Tagged), "Tagged"),
    "parameter": (torch.nn.Parameter(torch.randn(2, 3)), "Parameter"),
}


@pytest.mark.parametrize("t,type_name", SUBCLASSES.values(), ids=SUBCLASSES.keys())
def test_tensor_subclasses_come_back_as_plain_tensors(t, type_name):
    payload, sent_metas = wire.encode({"t": t})
    back, metas = wire.decode(payload)
    assert type(back["t"]) is torch.Tensor
    assert torch.equal(back["t"], torch.Tensor.as_subclass(t.detach(), torch.Tensor))
    assert metas == sent_metas
    assert metas[0].type_name == type_name


def test_metadata_says_what_the_child_saw():
    leaf = torch.randn(3, requires_grad=True)
    _, metas = wire.decode(wire.encode([leaf, leaf * 2, torch.ones(1)])[0])
    assert [(m.requires_grad, m.is_leaf) for m in metas] == [(True, True), (True, False),
                                                              (False, True)]
    assert {m.device for m in metas} == {"cpu"}


def test_decoded_tensors_own_their_memory():
    payload, _ = wire.encode(torch.arange(4.0))
    back, _ = wire.decode(payload)
    back += 1  # would fail on a read-only buffer, or corrupt the payload if it were shared
    assert back.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert wire.decode(payload)[0].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_a_hand_built_safetensors_frame_decodes():
    data = struct.pack("<4f", 1.0, 2.0, 3.0, 4.0)
    payload = frame({"tensor": 0}, {"0": {"dtype": "F32", "shape": [2, 2],
                                          "data_offsets": [0, 16]}}, data)
    back, _ = wire.decode(payload)
    assert torch.equal(back, torch.tensor([[1.0, 2.0], [3.0, 4.0]]))


def test_the_same_tensor_twice_decodes_twice():
    t = torch.arange(3)
    a, b = round_trip((t, t))
    assert torch.equal(a, t) and torch.equal(b, t)


# --- malformed payloads ----------------------------------------------------------------------


def raw_frame(skeleton: bytes, tensor_header: bytes, data: bytes = b"") -> bytes:
    """Like ``frame``, from raw JSON bytes, for headers that are not even objects."""
    section = struct.pack("<Q", len(tensor_header)) + tensor_header + data
    return struct.pack("<II", len(skeleton), len(section)) + skeleton + section


def _good() -> bytes:
    return wire.encode({"x": torch.arange(6.0).reshape(2, 3), "n": 5})[0]


def _tensor_frame(entry: dict, data: bytes = b"\0" * 8) -> bytes:
    return frame({"tensor": 0}, {"0": entry}, data)


MALFORMED = {
    "empty": b"",
    "truncated header": _good()[:5],
    "truncated body": _good()[:-3],
    "a byte too many": _good() + b"\0",
    "skeleton length too large": struct.pack("<II", 10**6, 0) + b"{}",
    "skeleton not JSON": struct.pack("<II", 3, 0) + b"{x}",
    "tensor section missing": struct.pack("<II", 2, 0) + b"{}",
    "tensor header length beyond the data": (
        struct.pack("<II", 2, 9) + b"{}" + struct.pack("<Q", 1000) + b"{"
    ),
    "tensor header not JSON": frame({"py": None})[:-1] + b"!",
    "shape larger than its bytes": _tensor_frame(
        {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}),
    "shape smaller than its bytes": _tensor_frame(
        {"dtype": "F32", "shape": [1], "data_offsets": [0, 8]}),
    "byte range beyond the data": _tensor_frame(
        {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}),
    "byte range reversed": _tensor_frame(
        {"dtype": "F32", "shape": [0], "data_offsets": [8, 0]}),
    "negative dimension": _tensor_frame(
        {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}),
    "non-integer dimension": _tensor_frame(
        {"dtype": "F32", "shape": [2.0], "data_offsets": [0, 8]}),
    "unknown dtype": _tensor_frame({"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}),
    "missing dtype": _tensor_frame({"shape": [2], "data_offsets": [0, 8]}),
    "tensors not numbered from 0": frame(
        {"tensor": 0}, {"1": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}},
        b"\0" * 8),
    "missing metadata": frame(
        {"tensor": 0}, {"0": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}},
        b"\0" * 8, metadata={}),
    "reference out of range": frame(
        {"tensor": 1}, {"0": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}},
        b"\0" * 8),
    "negative reference": frame({"tensor": -1}),
    "reference not an int": frame({"tensor": "0"}),
    "reference with no tensors": frame({"tensor": 0}),
    "unknown kind": frame({"pickle": "gASVAAAA"}),
    "two kinds in one node": frame({"py": None, "int": "1"}),
    "bare JSON value": frame(5),
    "int not digits": frame({"int": "0x10"}),
    "int as JSON number": frame({"int": 5}),
    "float as a string": frame({"float": "1.5"}),
    "float as a bool": frame({"float": True}),
    "py holding a number": frame({"py": 5}),
    "list not a list": frame({"list": {"a": 1}}),
    "deep nesting": frame(json.loads('{"list": [' * 60 + '{"py": null}' + "]}" * 60)),
    "JSON nested past the recursion limit": raw_frame(b"[" * 100_000, b"{}"),
    "tensor header nested past the recursion limit": raw_frame(b'{"py": null}', b"[" * 100_000),
    "tensor header a string": raw_frame(b'{"py": null}', b'"abc"'),
    "tensor header a number": raw_frame(b'{"py": null}', b"5"),
    "zero-size shape whose size overflows": _tensor_frame(
        {"dtype": "U8", "shape": [2**40, 2**40, 0], "data_offsets": [0, 0]}, b""),
}


@pytest.mark.parametrize("payload", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_payloads_raise_wire_error(payload):
    with pytest.raises(WireError):
        wire.decode(payload)


def test_too_many_tensors_are_refused_before_parsing():
    entry = {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]}
    header = {str(i): entry for i in range(wire.MAX_TENSORS + 1)}
    with pytest.raises(WireError, match="exceed the limit"):
        wire.decode(frame({"py": None}, header))


# --- frames on a socket ----------------------------------------------------------------------


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    a.settimeout(5)
    b.settimeout(5)
    yield a, b
    a.close()
    b.close()


def test_send_and_recv_carry_one_frame(pair):
    a, b = pair
    payload = wire.encode([torch.ones(2, 2), "hi"])[0]
    wire.send(a, payload)
    wire.send(a, b"second")
    assert wire.recv(b) == payload
    assert wire.recv(b) == b"second"


def test_oversized_frame_header_is_refused_without_reading_it(pair):
    a, b = pair
    a.sendall(struct.pack("<Q", wire.MAX_FRAME + 1))
    with pytest.raises(WireError, match="exceeds"):
        wire.recv(b)


def test_huge_frame_header_is_refused(pair):
    a, b = pair
    a.sendall(struct.pack("<Q", 2**64 - 1))
    with pytest.raises(WireError):
        wire.recv(b)


@pytest.mark.parametrize("sent", [b"", b"\x10\0\0", struct.pack("<Q", 10) + b"short"],
                         ids=["nothing", "half a header", "half a body"])
def test_a_closed_peer_is_eof(pair, sent):
    a, b = pair
    a.sendall(sent)
    a.close()
    with pytest.raises(EOFError):
        wire.recv(b)
