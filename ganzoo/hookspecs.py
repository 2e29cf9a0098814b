"""The contract between the engine and its plugins: one hook per component kind.

Component hooks hand the plugin a ``register`` callback; the engine validates each entry
as it is registered and records which plugin made it. Observer hooks are plain calls whose
results are all collected.
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
    """Register network families: ``register(name, builder, description="")``.

    :param register: ``builder(spec: DataSpec, **params) -> (generator, discriminator)``;
        every keyword parameter needs a default (those are the config's defaults).
        The generator is called ``G(z, labels=None)`` and has an int ``latent_dim``;
        the discriminator ``D(x, labels=None)`` returns one logit per sample. A conditional
        generator has an int ``num_classes`` > 0 (``ganzoo sample --label`` checks it). A generator may
        define ``regularization() -> Tensor``, a term from its last forward pass that the
        schedule adds to its loss (e.g. VGAN's mask sparsity). For conformance tests a builder
        may carry ``example_specs`` (list of DataSpec it supports) and ``tiny_params`` (dict of
        small widths); without them it is tested on 2D points and 1x28x28 images.
    """


@hookspec
def ganzoo_losses(register: Register) -> None:
    """Register adversarial losses: ``register(name, factory, description="")``.

    :param register: ``factory(**params)`` returns an object with
        ``d_loss(real_logits, fake_logits)``, ``g_loss(fake_logits)`` and optionally
        ``penalty(D, real, fake, labels)`` (gradient penalty, R1, ...), and
        ``state_dict()``/``load_state_dict(state)`` for counters a resumed run must continue
        (lazy R1's update count); the schedule saves them in the checkpoint.
    """


@hookspec
def ganzoo_datasets(register: Register) -> None:
    """Register data sets: ``register(name, factory, description="")``.

    :param register: ``factory(root: Path, split: str, download: bool, **opts) -> Data``
        where ``Data`` holds tensors and their ``DataSpec``.
    """


@hookspec
def ganzoo_schedules(register: Register) -> None:
    """Register training schedules: ``register(name, factory, description="")``.

    :param register: ``factory(G, D, loss, spec, **params)`` returns a schedule that owns
        one training iteration: ``step(real, labels) -> dict[str, Tensor]``, plus
        ``generator_for_sampling()``, ``state_dict()`` and ``load_state_dict(state)``.
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
