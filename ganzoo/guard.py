"""Divergence guard: non-finite losses or parameters stop a run, or roll it back with a lower learning rate.

Config section ``guard``: ``rollbacks`` (how many times to roll back to the last good checkpoint
before giving up; 0 stops at once) and ``lr_factor`` (each rollback multiplies every schedule
learning rate, i.e. each schedule parameter whose name starts with ``lr``, by this factor).
"""

from __future__ import annotations

import torch

from ganzoo.errors import GanzooError


class DivergedError(GanzooError):
    """Training produced NaN or infinite losses or weights."""


def first_nonfinite(losses: dict[str, torch.Tensor], first_step: int) -> tuple[int, str] | None:
    """The first step (and loss name) whose value is not finite; ``losses`` maps name -> values per step."""
    worst: tuple[int, str] | None = None
    for name, values in losses.items():
        bad = (~torch.isfinite(values)).nonzero()
        if len(bad):
            found = (first_step + int(bad[0, 0]), name)
            worst = found if worst is None or found < worst else worst
    return worst


def nonfinite_parameter(modules: dict[str, torch.nn.Module]) -> str | None:
    """The name of the first parameter or buffer holding NaN or infinity, or None (one host read when all are finite)."""
    named = [(f"{owner}.{name}", tensor) for owner, module in modules.items()
             for name, tensor in list(module.named_parameters()) + list(module.named_buffers())
             if tensor.is_floating_point()]
    if not named:
        return None
    finite = torch.stack([torch.isfinite(tensor).all().to(named[0][1].device) for _, tensor in named])
    if bool(finite.all()):
        return None
    return named[int((~finite).nonzero()[0, 0])][0]


def find_problem(pending: list[dict[str, torch.Tensor]], step: int,
                 networks: dict[str, torch.nn.Module]) -> tuple[int, str] | None:
    """(step, what) of the first non-finite loss among the ``pending`` steps that end at ``step``, else of the
    first non-finite weight of ``networks`` at ``step``; None when all are finite."""
    if pending:
        losses = {k: torch.stack([p[k].float() for p in pending]) for k in pending[0]}
        found = first_nonfinite(losses, step - len(pending) + 1)
        if found is not None:
            return found[0], f"loss {found[1]}"
    name = nonfinite_parameter(networks)
    return (step, f"weight {name}") if name else None


def lowered_learning_rates(schedule: dict, factor: float) -> dict[str, float]:
    """The schedule block's learning rates (parameters named lr*) multiplied by ``factor``."""
    return {k: v * factor for k, v in schedule.items() if k.startswith("lr") and isinstance(v, float)}
