"""What a metric is: a function of an evaluation context that returns named numbers and its protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ganzoo.errors import GanzooError
from ganzoo.spec import Data, DataSpec

if TYPE_CHECKING:
    import torch


@dataclass
class EvalContext:
    """Everything a metric may use: real data, a way to draw generated samples, and the protocol inputs.

    ``sample(n, labels)`` returns ``n`` generated samples on the CPU (labels: int64 tensor or None).
    """

    spec: DataSpec
    real: Data
    sample: Callable[[int, "torch.Tensor | None"], "torch.Tensor"]
    n: int
    seed: int
    device: "torch.device"
    dataset: dict
    cache_dir: Path
    data_root: Path | None = None
    split: str = "test"
    _fake: tuple | None = field(default=None, repr=False)

    def fake(self) -> tuple["torch.Tensor", "torch.Tensor | None"]:
        """``n`` generated samples and the labels they were asked for, drawn once per context."""
        import torch

        if self._fake is None:
            g = torch.Generator().manual_seed(self.seed)
            labels = None
            if self.spec.conditional:
                labels = torch.randint(0, self.spec.num_classes, (self.n,), generator=g)
            with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
                torch.manual_seed(self.seed)
                x = self.sample(self.n, labels)
            self._fake = (x, labels)
        return self._fake

    def real_subset(self) -> Data:
        """The first ``n`` real samples in a seeded order (all of them if fewer)."""
        import torch

        g = torch.Generator().manual_seed(self.seed)
        idx = torch.randperm(len(self.real), generator=g)[: self.n]
        y = self.real.y[idx] if self.real.y is not None else None
        extras = {k: v[idx] for k, v in self.real.extras.items()}
        return Data(self.real.x[idx], y, self.real.spec, extras, self.real.info)


def generator_classes(generator: object) -> int:
    """How many classes a generator is conditioned on (its optional ``num_classes``); 0 when unconditional."""
    from ganzoo import contracts

    return int(contracts.optional(generator, contracts.Generator, "num_classes") or 0)


def model_spec(spec: DataSpec, generator: object) -> DataSpec:
    """The data spec as a model sees it: without classes when the generator is unconditional.

    A conditional generator has an int ``num_classes`` > 0 (see the networks hook); labelled
    data trained on an unconditional one gives samples without labels.
    """
    if spec.conditional and generator_classes(generator) <= 0:
        return DataSpec(spec.shape, 0, spec.value_range)
    return spec


@dataclass(frozen=True)
class MetricResult:
    """Named values and the protocol that makes them comparable."""

    values: dict[str, float]
    protocol: dict

    def to_dict(self) -> dict:
        """Plain form for eval.json."""
        return {"values": self.values, "protocol": self.protocol}


@dataclass(frozen=True)
class Metric:
    """A registered metric.

    ``fn(ctx) -> MetricResult``; ``kinds`` are the data kinds it applies to; ``conditional``
    metrics need labelled data and a conditional model; ``goals`` map an output name to
    "max" or "min" (outputs without a goal are informative only).
    """

    fn: Callable[[EvalContext], MetricResult]
    kinds: tuple[str, ...] = ("points", "image", "video")
    conditional: bool = False
    goals: dict[str, str] = field(default_factory=dict)

    def check_applies(self, name: str, spec: DataSpec) -> None:
        """Raise a clear error when this metric does not fit the data."""
        if spec.kind not in self.kinds:
            raise GanzooError(f"metric {name!r} applies to {'/'.join(self.kinds)} data, not {spec.kind} data")
        if self.conditional and not spec.conditional:
            raise GanzooError(f"metric {name!r} needs a conditional model and labelled data; this run is unconditional")
