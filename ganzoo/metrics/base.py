"""What a metric is: a function of an evaluation context that returns named numbers and its protocol."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ganzoo.errors import GanzooError
from ganzoo.spec import Data, DataSpec

if TYPE_CHECKING:
    import torch


@dataclass
class EvalContext:
    """Everything a metric may use: real data, a way to draw generated samples, and the protocol inputs.

    ``sample(n, labels)`` returns ``n`` generated samples on the CPU (labels: int64 tensor or None; for
    image-to-image data, the source images to translate, drawn from the real data: ``fake_conditions``).
    ``generator`` is the network ``sample`` draws from (on ``device``), for metrics that set its latent
    codes themselves (``code-agreement``); None for samples made elsewhere.
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
    generator: "torch.nn.Module | None" = field(default=None, repr=False)
    _fake: tuple | None = field(default=None, repr=False)
    _conditions: Data | None = field(default=None, repr=False)

    def fake(self) -> tuple["torch.Tensor", "torch.Tensor | None"]:
        """``n`` generated samples and the labels they were asked for (image-to-image data: the source
        images, ``fake_conditions().y``), drawn once per context."""
        import torch

        from ganzoo.device import forked_rng

        if self._fake is None:
            g = torch.Generator().manual_seed(self.seed)
            labels = None
            if self.spec.translation:
                labels = self.fake_conditions().y
            elif self.spec.conditional:
                labels = torch.randint(0, self.spec.num_classes, (self.n,), generator=g)
            with forked_rng(self.device):
                torch.manual_seed(self.seed)
                x = self.sample(self.n, labels)
            self._fake = (x, labels)
        return self._fake

    def fake_conditions(self) -> Data:
        """Image-to-image data: the ``n`` real samples whose source images (``y``) ``fake()`` translates, with
        their targets (``x``) and extras, in the seeded order of ``real_subset`` but just after its ``n``
        (disjoint from it where the split holds 2n, wrapping around where it holds fewer)."""
        import torch

        if self._conditions is None:
            if not self.spec.translation:
                raise GanzooError("fake_conditions() needs image-to-image data: this model is not a translation model")
            g = torch.Generator().manual_seed(self.seed)
            perm = torch.randperm(len(self.real), generator=g)
            offset = min(self.n, len(self.real))
            self._conditions = self._subset(perm[(offset + torch.arange(self.n)) % len(self.real)])
        return self._conditions

    def _subset(self, idx: "torch.Tensor") -> Data:
        """The real samples at ``idx`` (as floats in the value range), with their labels and extras."""
        y = self.real.y[idx] if self.real.y is not None else None
        extras = {k: v[idx] for k, v in self.real.extras.items()}
        return Data(self.real.floats(idx), y, self.real.spec, extras, self.real.info)

    def real_subset(self) -> Data:
        """The first ``n`` real samples in a seeded order (all of them if fewer)."""
        import torch

        g = torch.Generator().manual_seed(self.seed)
        return self._subset(torch.randperm(len(self.real), generator=g)[: self.n])

    def real_pair(self) -> "EvalContext":
        """This context with real samples in place of generated ones: the seeded order's next ``n`` after
        ``real_subset()``'s, so a metric scores two disjoint real sets of one size (half the split each when
        it holds fewer than 2n). For image-to-image data the "generated" samples are those real samples'
        targets, and their sources are the conditions (``fake_conditions``)."""
        import torch

        n = min(self.n, len(self.real) // 2)
        g = torch.Generator().manual_seed(self.seed)
        idx = torch.randperm(len(self.real), generator=g)[n : 2 * n]
        labelled = (self.spec.conditional or self.spec.translation) and self.real.y is not None
        labels = self.real.y[idx] if labelled else None
        conditions = self._subset(idx) if self.spec.translation else None
        return replace(self, n=n, _fake=(self.real.floats(idx), labels), _conditions=conditions)


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
        return replace(spec, num_classes=0)
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
class Reference:
    """What real data scores under a metric's protocol, e.g. the Fréchet distance between two disjoint real sets.

    ``label`` says how to read it ("real vs real", "real", "evaluator test accuracy"); ``values`` are keyed
    like the metric's own outputs (some of them); ``samples`` counts the real samples per set.
    """

    label: str
    values: dict[str, float]
    samples: int | None = None

    def to_dict(self) -> dict:
        """Plain form for a protocol block (``protocol["reference"]``)."""
        return {"label": self.label, "values": self.values, "samples": self.samples}


ReferenceFunction = Callable[[EvalContext, MetricResult], Reference]


def scored_on_real(fn: Callable[[EvalContext], MetricResult], *keys: str,
                   label: str = "real vs real") -> ReferenceFunction:
    """The reference of a metric scored on real data: ``fn`` itself on two disjoint real sets of one size
    (``EvalContext.real_pair``), keeping the outputs ``keys`` (all when none are named)."""

    def reference(ctx: EvalContext, result: MetricResult) -> Reference:
        pair = ctx.real_pair()
        values = fn(pair).values
        return Reference(label, {k: v for k, v in values.items() if not keys or k in keys}, pair.n)

    return reference


def reported_real(label: str, **outputs: str) -> ReferenceFunction:
    """The reference of a metric that measures real data itself: each output named as a keyword, beside the
    output that holds its real counterpart (``reported_real("real clips", fake="real")``)."""

    def reference(ctx: EvalContext, result: MetricResult) -> Reference:
        return Reference(label, {mine: result.values[real] for mine, real in outputs.items()},
                         result.protocol.get("real_samples"))

    return reference


@dataclass(frozen=True)
class Metric:
    """A registered metric.

    ``fn(ctx) -> MetricResult``; ``kinds`` are the data kinds it applies to; ``conditional``
    metrics need labelled data and a conditional model; ``translation`` metrics need image-to-image
    data (``DataSpec.translation``); ``goals`` map an output name to
    "max" or "min" (outputs without a goal are informative only); ``reference(ctx, result) ->
    Reference``, when given, says what real data scores under the same protocol (``scored_on_real``,
    ``reported_real``): evaluations put it in the protocol block, beside which each number is printed.
    ``fixed_length`` video metrics compare clips only at the length the model was trained on (their
    features come from a network trained on clips of that length); ``ganzoo eval --frames`` leaves them out.
    """

    fn: Callable[[EvalContext], MetricResult]
    kinds: tuple[str, ...] = ("points", "image", "video")
    conditional: bool = False
    goals: dict[str, str] = field(default_factory=dict)
    reference: ReferenceFunction | None = None
    translation: bool = False
    fixed_length: bool = False

    def check_applies(self, name: str, spec: DataSpec) -> None:
        """Raise a clear error when this metric does not fit the data."""
        if spec.kind not in self.kinds:
            raise GanzooError(f"metric {name!r} applies to {'/'.join(self.kinds)} data, not {spec.kind} data")
        if self.conditional and not spec.conditional:
            raise GanzooError(f"metric {name!r} needs a conditional model and labelled data; this run is unconditional")
        if self.translation and not spec.translation:
            raise GanzooError(f"metric {name!r} needs an image-to-image translation model and its data "
                              "(e.g. pix2pix on mnist-edges); this run generates from noise")
