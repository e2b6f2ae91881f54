"""One cause said once: which checks of a function failed for the same reason.

A cause that cost several checks is explained at the first of them; the others point back to
it. Terminal output, markdown and html feedback all group with ``shared``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Shared:
    """Where a check stands in its cause's group: ``members`` are positions, the first shows it."""

    members: tuple[int, ...]

    @property
    def first(self) -> int:
        return self.members[0]


def shared(causes: Sequence[object], eligible: Sequence[bool]) -> dict[int, Shared]:
    """Position -> its group, for the eligible positions whose cause two or more share.

    ``causes`` may hold "" or a missing value (NaN) for no cause; those never group.
    """
    groups: dict[str, list[int]] = {}
    for position, (cause, ok) in enumerate(zip(causes, eligible, strict=True)):
        if ok and isinstance(cause, str) and cause:
            groups.setdefault(cause, []).append(position)
    found: dict[int, Shared] = {}
    for members in groups.values():
        if len(members) > 1:
            group = Shared(tuple(members))
            found.update(dict.fromkeys(members, group))
    return found


def cost_line(names: Sequence[str]) -> str:
    """What the first check of a group says after its message."""
    return f"one cause, {len(names)} checks: {', '.join(names)}"


def again_line(name: str) -> str:
    """What every later check of a group says instead of repeating the message."""
    return f"same cause as {name}"
