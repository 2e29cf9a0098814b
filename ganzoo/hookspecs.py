"""The contract between the engine and its plugins: one hook per component kind.

Component hooks hand the plugin a ``register`` callback; the engine validates each entry
as it is registered (against the protocols in ``ganzoo.contracts``) and records which plugin
made it. Observer hooks are plain calls whose results are all collected. A ``@hookimpl`` whose
name is no hook here fails its plugin at load (``pm.check_pending()``).
"""

from __future__ import annotations

from typing import Any, Callable

import pluggy

PROJECT = "ganzoo"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

Register = Callable[..., None]


@hookspec
def ganzoo_networks(register: Register) -> None:
    """Register network families: ``register(name, builder: NetworkBuilder, description="")``.

    :param register: ``builder(spec: DataSpec, **params) -> (Generator, Discriminator)``
        (``ganzoo.contracts``); every keyword parameter needs a default (those are the config's
        defaults). ``G(z, labels=None)`` has an int ``latent_dim`` and optionally ``num_classes``,
        ``regularization()``, ``sample_latent(n, generator=None, device=None)`` (latent inputs other
        than Gaussian noise) and ``codes`` with ``with_code(z, name, values)`` (latent codes ``ganzoo
        sample --vary`` can vary). ``D(x, labels=None)`` returns one logit per sample (N,), or a
        PatchGAN's map of them (N, ...); for image-to-image data (``spec.translation``) ``labels`` is
        the batch of source images and ``latent_dim`` may be 0. A D with
        auxiliary outputs declares ``heads`` (then ``D(x, labels, heads=True)`` returns a dict with
        ``"logits"`` and each head) and ``d_aux_loss(real_out, fake_out, labels, z)`` /
        ``g_aux_loss(fake_out, labels, z)``, the terms the schedule adds to D's and G's losses
        (ACGAN's class loss, InfoGAN's mutual-information term). For the conformance kit a builder
        may carry ``example_specs`` and ``tiny_params``.
    """


@hookspec
def ganzoo_losses(register: Register) -> None:
    """Register adversarial losses: ``register(name, factory: LossFactory, description="")``.

    :param register: ``factory(**params) -> Loss`` (``ganzoo.contracts.Loss``): ``d_loss(real_logits,
        fake_logits)`` and ``g_loss(fake_logits, real_logits=None)``; optionally ``g_needs_real``
        (relativistic losses), ``penalty(D, real, fake, labels)`` (gradient penalty, R1, R2) and
        ``state_dict()``/``load_state_dict(state)`` for counters a resumed run must continue.
        A class registered as the factory is checked against ``Loss`` at load; any loss, when built.
    """


@hookspec
def ganzoo_datasets(register: Register) -> None:
    """Register data sets: ``register(name, factory: DatasetFactory, description="")``.

    :param register: ``factory(root: Path, split: str, download: bool, **opts) -> Data``
        where ``Data`` holds tensors (floats in the spec's value range, or uint8 pixels for images)
        and their ``DataSpec`` (image-to-image data: source images in
        ``y``, ``spec.condition_shape`` their shape); optionally ``tiny_params`` and
        ``write_fixture(root, split)`` for the conformance kit.
    """


@hookspec
def ganzoo_schedules(register: Register) -> None:
    """Register training schedules: ``register(name, factory: ScheduleFactory, description="")``.

    :param register: ``factory(G, D, loss, spec, **params) -> Schedule`` (``ganzoo.contracts.Schedule``):
        ``step(next_batch) -> dict[str, Tensor]`` where ``next_batch()`` gives ``(x, labels)``,
        ``generator_for_sampling()``, ``state_dict()`` and ``load_state_dict(state)``; optionally
        ``batches_per_step`` and ``use_fast_paths(fast)``. A factory may carry ``example_network``,
        (network name, DataSpec), for a schedule the conformance kit must check on that network.
    """


@hookspec
def ganzoo_metrics(register: Register) -> None:
    """Register evaluation metrics: ``register(name, metric, description="")``.

    :param register: ``metric`` is a ``ganzoo.metrics.Metric``: a function of an
        evaluation context returning named floats, with the data kinds it applies to.
    """


@hookspec
def ganzoo_experiments(register: Register) -> None:
    """Register ready-to-run experiments: ``register(name, config: dict, description="")``.

    :param register: ``config`` has the same form as an entry of ``registry.yaml``.
    """


@hookspec
def ganzoo_train_start(run: Any) -> None:
    """Called once before the first training step of a run (``run`` is the Trainer)."""


@hookspec
def ganzoo_step_end(run: Any, step: int, logs: dict[str, float]) -> None:
    """Called at each logging step with the values just logged."""


@hookspec
def ganzoo_eval(run: Any, step: int, results: dict[str, float]) -> None:
    """Called after each evaluation with its results."""


@hookspec
def ganzoo_train_end(run: Any) -> None:
    """Called once after the last step (also after an interrupted run)."""
