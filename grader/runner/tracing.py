"""What a student's function really runs, watched at three depths, and any attempt to look away.

A from-scratch rule must hold however a banned operation is reached. Each depth sees what the
one above can miss:

- a ``TorchFunctionMode`` sees the torch API as called (``torch.softmax``, ``Tensor.softmax``);
- a ``TorchDispatchMode`` sees the ATen operations that actually run (``aten._softmax``), below
  ``torch._C.DisableTorchFunction``, however the function object was found, and every backward
  pass the autograd engine runs;
- a profile function (``sys.setprofile``) sees the Python-level torch code the student's code
  enters (``torch.optim``, ``torch.func``), whatever name it was reached by.

Switching any of them off, or reaching into ``torch._C`` from the student's code, is recorded as
tampering: the parent fails the rule with its own message. Everything here runs in the child,
next to student code; the parent decides what the names mean.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType, ModuleType
from typing import Any

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode, _get_current_dispatch_mode_stack

BACKWARD = "torch.autograd.backward"  # what a backward pass of the autograd engine records as
_TORCH = os.path.dirname(torch.__file__) + os.sep
_GRADER = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_BOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shims", "d2l") + os.sep
# Operations that only make a tensor: torch.Tensor([...]), torch.from_numpy and unpickling reach
# them without passing torch function handling, and they compute nothing worth hiding.
_CONSTRUCTORS = {"aten.lift_fresh", "aten.lift", "aten.empty", "aten.empty_strided", "aten.set_"}

_untraced_depth = 0


@contextmanager
def untraced() -> Iterator[None]:
    """What runs inside is not recorded: the stand-ins a function calls are not its own calls."""
    global _untraced_depth
    _untraced_depth += 1
    try:
        yield
    finally:
        _untraced_depth -= 1


@dataclass
class Trace:
    names: set[str] = field(default_factory=set)  # torch API as called, aten.* operations
    entered: set[str] = field(default_factory=set)  # where the torch Python code it entered is
    tampering: set[str] = field(default_factory=set)  # how the student's code looked away
    depth: int = 0  # inside the function mode's handler: ops below it are accounted for


class _Functions(TorchFunctionMode):
    def __init__(self, trace: Trace) -> None:
        super().__init__()
        self.trace = trace

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if not _untraced_depth:
            self.trace.names.add(qualified_name(func))
        self.trace.depth += 1
        try:
            return func(*args, **(kwargs or {}))
        finally:
            self.trace.depth -= 1


class _Operations(TorchDispatchMode):
    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        """torch otherwise wraps ``__torch_dispatch__`` in ``torch._dynamo.disable``, whose first
        call imports torch._dynamo: 1.9 s here, for a compiler no trace uses."""
        return False

    def __init__(self, trace: Trace) -> None:
        super().__init__()
        self.trace = trace

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if not _untraced_depth:
            if torch._C._current_graph_task_id() != -1:
                self.trace.names.add(BACKWARD)  # the autograd engine computing a derivative
            else:
                op = str(func.overloadpacket)  # "aten._softmax"
                self.trace.names.add(op)
                if not self.trace.depth and op not in _CONSTRUCTORS:
                    # Every op the student's code starts passes the function mode first, unless
                    # torch function handling was switched off (DisableTorchFunction) or the mode
                    # was taken off its stack.
                    self.trace.tampering.add("switched off torch function handling")
        return func(*args, **(kwargs or {}))


_SWITCHES = {sys.setprofile, sys.settrace}  # builtins: seen as c_call events
_SWITCH_CODES = {threading.setprofile.__code__, threading.settrace.__code__}  # Python functions
_THREADS = {getattr(threading, "_start_new_thread", None),
            getattr(threading, "_start_joinable_thread", None)} - {None}


def _profiler(trace: Trace) -> Callable[[FrameType, str, Any], None]:
    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if _untraced_depth:
            return
        if event == "call":
            if frame.f_code in _SWITCH_CODES:
                trace.tampering.add(f"called threading.{frame.f_code.co_name}")
            caller = frame.f_back
            called_from = caller.f_code.co_filename if caller is not None else ""
            if frame.f_code.co_filename.startswith(_BOOK) and not called_from.startswith(_BOOK):
                # the sandbox's d2l: every helper is d2l.torch.NAME to the student
                trace.entered.add(f"d2l.torch.{_qualname(frame.f_code)}")
            elif (
                frame.f_code.co_filename.startswith(_TORCH)
                and frame.f_code.co_name != "<module>"  # an import running, not a call
                and (caller is None or not caller.f_code.co_filename.startswith(_TORCH))
            ):
                trace.entered.add(definition_name(frame))
        elif event == "c_call" and not frame.f_code.co_filename.startswith((_TORCH, _GRADER)):
            if arg in _SWITCHES:
                trace.tampering.add(f"called {arg.__module__}.{arg.__name__}")
            elif arg in _THREADS:
                trace.tampering.add("started a thread, where the trace cannot follow")
            elif _private_core(arg):
                trace.tampering.add(f"called torch._C.{arg.__name__}")

    return profile


def _private_core(func: Any) -> bool:
    """A private function of ``torch._C`` (or its submodules), called directly."""
    owner = getattr(func, "__self__", None)
    return (
        isinstance(owner, ModuleType)
        and owner.__name__.startswith("torch._C")
        and getattr(func, "__name__", "").startswith("_")
    )


def definition_name(frame: FrameType) -> str:
    """``torch.optim.sgd.SGD.step``: where the running code is defined."""
    return f"{frame.f_globals.get('__name__', '?')}.{_qualname(frame.f_code)}"


def _qualname(code) -> str:
    return getattr(code, "co_qualname", code.co_name)  # co_qualname from Python 3.11


def traced(fn: Callable[..., Any], args: tuple = (), kwargs: dict | None = None) -> Trace:
    """Run ``fn`` once under all three watchers and say what it ran and how it hid."""
    trace = Trace()
    functions, operations, profile = _Functions(trace), _Operations(trace), _profiler(trace)
    previous = sys.getprofile()
    intact = True
    try:
        with functions, operations:
            sys.setprofile(profile)
            try:
                fn(*args, **(kwargs or {}))
            finally:
                if sys.getprofile() is not profile:
                    trace.tampering.add("replaced the grader's profile function")
                sys.setprofile(previous)
                intact = _on_stacks(functions, operations)
    except Exception:
        if intact:  # the function's own error, for the other checks to report
            raise
        # else leaving a mode the student's code already popped raised: that is the tampering
    if not intact:
        trace.tampering.add("took the grader's trace off torch's mode stacks")
    return trace


def _on_stacks(functions: TorchFunctionMode, operations: TorchDispatchMode) -> bool:
    from torch.overrides import _get_current_function_mode_stack

    return (
        functions in _get_current_function_mode_stack()
        and operations in _get_current_dispatch_mode_stack()
    )


def qualified_name(func: Any) -> str:
    """``torch.nn.functional.softmax``, ``torch.Tensor.softmax``, ``torch.softmax``..."""
    name = getattr(func, "__name__", None) or repr(func)
    owner = getattr(func, "__objclass__", None)  # method descriptors such as Tensor.softmax
    if isinstance(owner, type) and issubclass(owner, torch._C.TensorBase):
        return f"torch.Tensor.{name}"
    qualname = getattr(func, "__qualname__", None) or name
    module = getattr(func, "__module__", None) or "torch"
    if qualname.startswith("_VariableFunctionsClass."):  # torch.exp, torch.softmax, ...
        return f"torch.{name}"
    if module == "torch._tensor":  # Python-level Tensor methods: Tensor.__rsub__, ...
        return f"torch.{qualname}"
    if module.startswith("torch._C"):
        module = "torch"
    return f"{module}.{qualname}"
