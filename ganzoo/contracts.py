"""The component contracts as code: one ``typing.Protocol`` per component kind.

The hook specs (``ganzoo.hookspecs``) say how a plugin hands a component over; these protocols say
what the component must be. A protocol lists its required members as ordinary protocol members
and its optional ones in ``OPTIONAL``, with the default the engine uses when a component leaves
one out; ``optional(obj, Protocol, name)`` is the one place that reads them. The engine checks
components against their protocol when they register (classes) and when it builds them
(instances), and names the plugin and the missing member in one line.

Torch stays out of this module's imports (type names are strings), so ``ganzoo --help`` stays fast.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Protocol, runtime_checkable

from ganzoo.errors import PluginError

if TYPE_CHECKING:
    import torch

    from ganzoo.metrics.base import EvalContext, MetricResult
    from ganzoo.spec import Data, DataSpec

    Batch = tuple[torch.Tensor, "torch.Tensor | None"]


@runtime_checkable
class Generator(Protocol):
    """A generator network: ``G(z, labels=None)`` maps latent inputs (N, latent_dim) to samples (N, *spec.shape).

    For image-to-image data (``spec.translation``) ``labels`` is the batch of source images
    (N, *spec.condition_shape) in the spec's value range and ``latent_dim`` may be 0 (pix2pix takes
    its noise from dropout): ``G(z, sources)`` is the translation.

    Optional:

    - ``num_classes``: int > 0 for a conditional generator, which ``ganzoo sample --label`` checks.
    - ``regularization()``: a scalar term from the last forward pass that the schedule adds to G's
      loss (e.g. VGAN's mask sparsity).
    - ``sample_latent(n, generator=None, device=None)``: draws n latent inputs (N, latent_dim) when
      they are not plain Gaussian noise (InfoGAN: noise, one-hot categorical and uniform continuous
      codes). Every sampling site draws through ``ganzoo.samples.draw_latent``, which falls back to
      ``torch.randn(n, latent_dim, generator=generator, device=device)``.
    - ``codes`` and ``with_code(z, name, values)``: the latent codes a user may vary (``ganzoo sample
      --vary``), as {name: categories, 0 for a continuous code}, and ``z`` with one code set to
      ``values`` (N,) (int64 categories, or floats), the rest of ``z`` kept.
    - ``clips(z, labels, frames, generator=None)``: for video, clips of any number of frames from the same
      latent inputs (MoCoGAN runs its motion network on, drawing extra noise from ``generator``); ``ganzoo
      sample --frames`` uses it.
    """

    OPTIONAL: ClassVar[dict[str, Any]] = {"num_classes": 0, "regularization": None, "sample_latent": None,
                                          "codes": None, "with_code": None, "clips": None}
    latent_dim: int

    def __call__(self, z: "torch.Tensor", labels: "torch.Tensor | None" = None) -> "torch.Tensor":
        """Samples in the data spec's value range."""


@runtime_checkable
class Discriminator(Protocol):
    """A discriminator network: ``D(x, labels=None)`` returns one logit per sample, shape (N,), or a map of
    logits per sample, shape (N, ...) (a PatchGAN's one logit per image patch, Isola et al. 2017).

    The built-in losses average over every logit, and the gradient penalties (R1, R2, WGAN-GP) take
    the gradient of each sample's mean logit, so a map trains like one logit per sample. For
    image-to-image data ``labels`` is the batch of source images (a conditional PatchGAN sees them).

    Optional, for a discriminator with auxiliary outputs (ACGAN's class head, InfoGAN's Q head):

    - ``heads``: the names of its auxiliary outputs (default none). The schedule then calls
      ``D(x, labels, heads=True)`` in its updates and gets a dict with ``"logits"`` (N,) and each
      head; every other caller (penalties, metrics, the conformance kit's logit check) calls
      ``D(x, labels)`` and gets the logits alone. The adversarial loss sees only the logits, so any
      registered loss trains such a network.
    - ``d_aux_loss(real_out, fake_out, labels, z)``: a scalar the schedule adds to D's loss in each
      D update (the dicts of D on the real and the generated batch, their labels and G's latent
      input); ``g_aux_loss(fake_out, labels, z)``: a scalar it adds to G's loss in the G update.
      The built-in schedules (``alternating``, ``n-critic``) call them only where D declares heads.
    """

    OPTIONAL: ClassVar[dict[str, Any]] = {"heads": (), "d_aux_loss": None, "g_aux_loss": None}

    def __call__(self, x: "torch.Tensor", labels: "torch.Tensor | None" = None) -> "torch.Tensor":
        """One logit per sample (N,), or a map of them (N, ...)."""


@runtime_checkable
class NetworkBuilder(Protocol):
    """``builder(spec, **params) -> (generator, discriminator)``; every keyword parameter has a default.

    Optional, for the conformance kit: ``example_specs`` (the DataSpecs it supports; default 2D
    points and 1x28x28 labelled images) and ``tiny_params`` (small widths for fast tests).
    """

    OPTIONAL: ClassVar[dict[str, Any]] = {"example_specs": None, "tiny_params": None}

    def __call__(self, spec: "DataSpec", **params: Any) -> tuple[Generator, Discriminator]:
        """Build both networks for the data spec (on the CPU)."""


@runtime_checkable
class Loss(Protocol):
    """An adversarial loss from discriminator logits.

    Required: ``d_loss(real_logits, fake_logits)`` and ``g_loss(fake_logits, real_logits=None)``,
    each a scalar tensor. Optional:

    - ``g_needs_real`` (default False): G's loss also sees D's logits on the real batch of the
      same iteration (relativistic losses: RpGAN, Jolicoeur-Martineau 2018; R3GAN, Huang et al.
      2024). The schedule then computes them and passes ``real_logits``; otherwise it passes only
      the fake logits, so a ``g_loss(fake_logits)`` of one argument fits.
    - ``penalty(D, real, fake, labels)``: a scalar added to D's loss (gradient penalty, R1 on the
      real samples, R2 on the fake ones); None, or absent, for none. Schedules pass D run eagerly
      (``ganzoo.fastpath.eager``): torch.compile's graphs cannot be differentiated twice.
    - ``state_dict()`` / ``load_state_dict(state)``: counters a resumed run must continue (lazy
      R1's update count); the schedule saves them in the checkpoint.
    """

    OPTIONAL: ClassVar[dict[str, Any]] = {"g_needs_real": False, "penalty": None, "state_dict": None,
                                          "load_state_dict": None}

    def d_loss(self, real_logits: "torch.Tensor", fake_logits: "torch.Tensor") -> "torch.Tensor":
        """D's loss."""

    def g_loss(self, fake_logits: "torch.Tensor", real_logits: "torch.Tensor | None" = None) -> "torch.Tensor":
        """G's loss (``real_logits`` only when ``g_needs_real``)."""


@runtime_checkable
class LossFactory(Protocol):
    """``factory(**params) -> Loss``; every parameter has a default (the config's defaults).

    Optional, for the conformance kit: ``example_params``, parameter sets it checks besides the
    defaults (e.g. ``[{"r1_gamma": 1.0}]`` to check the loss with its penalty on).
    """

    OPTIONAL: ClassVar[dict[str, Any]] = {"example_params": None}

    def __call__(self, **params: Any) -> Loss:
        """A loss configured by the experiment's ``loss`` block."""


@runtime_checkable
class DatasetFactory(Protocol):
    """``factory(root, split, download, **opts) -> Data``; every option has a default.

    Optional: ``tiny_params`` (options for fast tests) and ``write_fixture(root, split)``, which
    writes a tiny copy of the data set's files under ``root`` in the layout the factory reads
    (the conformance kit then loads real samples offline instead of accepting a DataError).
    """

    OPTIONAL: ClassVar[dict[str, Any]] = {"tiny_params": None, "write_fixture": None}

    def __call__(self, root: Path, split: str, download: bool, **opts: Any) -> "Data":
        """The split's samples and their DataSpec."""


@runtime_checkable
class Schedule(Protocol):
    """One training iteration over G and D.

    Required: ``step(next_batch) -> dict[str, Tensor]`` (``next_batch()`` returns ``(x, labels)``;
    the values are detached losses, read back only at logging steps), ``generator_for_sampling()``,
    ``state_dict()`` and ``load_state_dict(state)``. Optional: ``batches_per_step`` (how many
    batches one step draws; default 1, for images/s) and ``use_fast_paths(fast)`` (adopt the run's
    autocast, gradient scaling and Adam kernel before the first step; default: ignore them).
    Where D declares auxiliary ``heads`` (see ``Discriminator``) a schedule adds D's ``d_aux_loss`` and
    ``g_aux_loss`` to the two updates and draws G's latent inputs with ``ganzoo.samples.draw_latent``.
    """

    OPTIONAL: ClassVar[dict[str, Any]] = {"batches_per_step": 1, "use_fast_paths": None}

    def step(self, next_batch: "Callable[[], Batch]") -> "dict[str, torch.Tensor]":
        """One iteration; returns detached loss tensors."""

    def generator_for_sampling(self) -> Generator:
        """The generator to sample from (an EMA copy where the schedule keeps one)."""

    def state_dict(self) -> dict:
        """Everything a resumed run needs to continue exactly."""

    def load_state_dict(self, state: dict) -> None:
        """Restore what state_dict() saved."""


@runtime_checkable
class ScheduleFactory(Protocol):
    """``factory(G, D, loss, spec, **params) -> Schedule``; every keyword parameter has a default.

    Optional, for the conformance kit: ``example_network``, a (network name, DataSpec) pair for a
    schedule that trains only one kind of network (CycleGAN's two directions): the kit then checks
    it on that network, built with its ``tiny_params``, and random batches of that spec, instead of
    on tiny networks over 2D points.
    """

    OPTIONAL: ClassVar[dict[str, Any]] = {"example_network": None}

    def __call__(self, G: Generator, D: Discriminator, loss: Loss, spec: "DataSpec", **params: Any) -> Schedule:
        """A schedule over the networks (already on their device)."""


@runtime_checkable
class MetricFunction(Protocol):
    """``fn(ctx) -> MetricResult``: named values and the protocol that makes them comparable.

    It is registered wrapped in ``ganzoo.metrics.Metric``, which adds the data kinds it applies
    to and each output's goal.
    """

    OPTIONAL: ClassVar[dict[str, Any]] = {}

    def __call__(self, ctx: "EvalContext") -> "MetricResult":
        """Evaluate one context."""


def required_members(protocol: type) -> list[str]:
    """The members a protocol requires: what it declares itself, but ``OPTIONAL`` and dunder methods."""
    declared = {n for n in vars(protocol) if not n.startswith("_")} | set(protocol.__annotations__)
    return sorted(declared - set(protocol.OPTIONAL) - {"OPTIONAL"})


def missing_members(obj: Any, protocol: type) -> list[str]:
    """Required members of ``protocol`` that ``obj`` (an instance or a class) lacks."""
    return [name for name in required_members(protocol) if not hasattr(obj, name)]


def optional(obj: Any, protocol: type, name: str) -> Any:
    """An optional member of a component: its own, else the default its protocol declares."""
    if name not in protocol.OPTIONAL:
        raise KeyError(f"{name!r} is not an optional member of {protocol.__name__}")
    return getattr(obj, name, protocol.OPTIONAL[name])


def check(obj: Any, protocol: type, what: str) -> Any:
    """``obj`` when it has every required member of ``protocol``; else a one-line PluginError naming ``what``."""
    missing = missing_members(obj, protocol)
    if missing:
        raise PluginError(f"{what} does not meet the {protocol.__name__} contract: it lacks "
                          f"{', '.join(missing)} (see ganzoo.contracts.{protocol.__name__})")
    return obj


def check_registered(kind: str, obj: Any, what: str) -> None:
    """What can be checked when a component registers: a class given as a factory must make its protocol."""
    product = PRODUCTS.get(kind)
    if product is not None and inspect.isclass(obj):
        check(obj, product, what)


#: The protocol of what each kind's registered callable makes, where it can be checked on a class.
PRODUCTS: dict[str, type] = {"losses": Loss, "schedules": Schedule}
#: The protocol each kind's registered object meets.
COMPONENTS: dict[str, type] = {"networks": NetworkBuilder, "losses": LossFactory, "datasets": DatasetFactory,
                               "schedules": ScheduleFactory, "metrics": MetricFunction}

__all__ = ["COMPONENTS", "DatasetFactory", "Discriminator", "Generator", "Loss", "LossFactory", "MetricFunction",
           "NetworkBuilder", "Schedule", "ScheduleFactory", "check", "check_registered", "missing_members",
           "optional", "required_members"]
