"""A pytest plugin for plugin authors: fixtures and a conformance suite.

Use it from a test package's root ``conftest.py`` (or a test module)::

    pytest_plugins = ["ganzoo.testing"]

    import my_plugin
    from ganzoo.testing import conformance_suite

    test_conformance = conformance_suite(my_plugin)

``conformance_suite`` takes the plugin module (registered for the test unless an entry point
already loaded it) or a distribution or plugin name, and returns one test parametrized over
everything that plugin registers: networks build for their DataSpecs and run forward and
backward on tiny CPU shapes with outputs of the declared shape and range; losses give finite
scalars that backpropagate; data sets yield samples of the declared shape and range (or, when
their files are absent offline, raise a clear DataError); schedules complete two iterations;
experiments resolve.
"""

from __future__ import annotations

import contextlib
import math
import os
from typing import Any, Callable, Iterator

import pytest
import torch
from packaging.utils import canonicalize_name

from ganzoo.engine import Engine
from ganzoo.errors import DataError
from ganzoo.plugins import PluginInfo, load_plugins
from ganzoo.registry import Component
from ganzoo.spec import Data, DataSpec

#: The kinds the suite checks (metrics are checked by their own evaluation tests).
CHECKED_KINDS = ("networks", "losses", "datasets", "schedules", "experiments")
#: Specs a network is built for when its builder declares no ``example_specs``.
DEFAULT_SPECS = (DataSpec((2,)), DataSpec((1, 28, 28), num_classes=10))
BATCH = 3
TOLERANCE = 1e-4


# --- fixtures ---------------------------------------------------------------------------------
@pytest.fixture
def ganzoo_plugin_manager():
    """A fresh pluggy PluginManager with ganzoo's hook specs, the built-ins and installed plugins."""
    pm, _infos = load_plugins()
    return pm


@pytest.fixture
def ganzoo_engine() -> Engine:
    """A fresh Engine: the built-ins and every installed plugin, nothing cached from other tests."""
    return Engine()


@pytest.fixture
def ganzoo_register() -> Callable[..., Engine]:
    """Register plugin modules or objects for one test: ``engine = ganzoo_register(my_plugin)``."""

    def register(*plugins: object) -> Engine:
        return engine_with(*plugins)

    return register


# --- the suite --------------------------------------------------------------------------------
def engine_with(*plugins: object) -> Engine:
    """A fresh Engine with these plugin objects added, unless an entry point already loaded them."""
    loaded = {id(info.module) for info in Engine().plugins if info.module is not None}
    return Engine(extra_plugins=[p for p in plugins if id(p) not in loaded])


def _matches(info: PluginInfo, target: object) -> bool:
    if isinstance(target, str):
        wanted = canonicalize_name(target)
        return wanted in {canonicalize_name(info.name), canonicalize_name(info.distribution)}
    return info.module is target


def target_plugins(engine: Engine, target: object) -> list[PluginInfo]:
    """The plugins a target names: a plugin object, or a plugin or distribution name."""
    return [info for info in engine.plugins if _matches(info, target)]


def conformance_cases(engine: Engine, target: object) -> list[tuple[str, str]]:
    """(kind, name) of everything the target registered, in the suite's kinds."""
    infos = target_plugins(engine, target)
    cases = []
    for info in infos:
        for kind, names in engine.registry.by_plugin(info.name, info.distribution).items():
            cases += [(kind, name) for name in names if kind in CHECKED_KINDS]
    return sorted(set(cases))


def _label(target: object) -> str:
    return target if isinstance(target, str) else getattr(target, "__name__", repr(target))


def conformance_suite(target: object) -> Callable[..., None]:
    """One test function parametrized over everything ``target`` registers (see the module docs)."""
    engine = engine_with(target) if not isinstance(target, str) else Engine()
    cases = conformance_cases(engine, target) or [("nothing", _label(target))]

    @pytest.mark.parametrize(("kind", "name"), cases, ids=[f"{k}/{n}" for k, n in cases])
    def test_conformance(kind: str, name: str) -> None:
        fresh = engine_with(target) if not isinstance(target, str) else Engine()
        if kind == "nothing":
            _fail_empty(fresh, target)
        check_component(fresh, kind, name)

    test_conformance.__doc__ = f"Everything {_label(target)} registers meets ganzoo's component contracts."
    return test_conformance


def _fail_empty(engine: Engine, target: object) -> None:
    infos = target_plugins(engine, target)
    if not infos:
        pytest.fail(f"no plugin named {_label(target)!r} is installed or registered")
    engine.registry  # noqa: B018 - collecting marks hook failures
    problems = [f"{i.name}: {i.status} {i.error}".strip() for i in infos if i.status != "loaded"]
    pytest.fail(f"{_label(target)} registered nothing" + (f" ({'; '.join(problems)})" if problems else ""))


def check_component(engine: Engine, kind: str, name: str) -> None:
    """Run the check for one registered component; raises AssertionError (or a ganzoo error) on failure."""
    CHECKS[kind](engine, engine.registry.get(kind, name))


# --- networks ---------------------------------------------------------------------------------
def network_specs(builder: Callable) -> list[DataSpec]:
    """The DataSpecs a network builder is tested on: its ``example_specs``, else the defaults."""
    specs = list(getattr(builder, "example_specs", None) or DEFAULT_SPECS)
    assert specs and all(isinstance(s, DataSpec) for s in specs), "example_specs must be a list of DataSpec"
    return specs


def _labels(spec: DataSpec, n: int):
    return torch.randint(0, spec.num_classes, (n,)) if spec.conditional else None


def _assert_finite(name: str, tensor) -> None:
    assert torch.isfinite(tensor).all(), f"{name} has non-finite values"


def check_network(engine: Engine, component: Component) -> None:
    """Build for each spec; G(z) has the sample shape and range, D gives one logit each; grads flow."""
    params = dict(getattr(component.obj, "tiny_params", None) or {})
    unknown = set(params) - set(component.params)
    assert not unknown, f"tiny_params names unknown parameters {sorted(unknown)}"
    for spec in network_specs(component.obj):
        torch.manual_seed(0)
        G, D = component.obj(spec, **params)
        assert isinstance(G, torch.nn.Module) and isinstance(D, torch.nn.Module), "builder must return two nn.Modules"
        assert isinstance(G.latent_dim, int) and G.latent_dim > 0, "generator needs an int latent_dim"
        labels = _labels(spec, BATCH)
        fake = G(torch.randn(BATCH, G.latent_dim), labels)
        assert tuple(fake.shape) == (BATCH, *spec.shape), f"{spec}: G gave {tuple(fake.shape)}"
        _assert_finite("generator output", fake)
        if spec.kind != "points":
            lo, hi = spec.value_range
            assert fake.min() >= lo - TOLERANCE and fake.max() <= hi + TOLERANCE, \
                f"{spec}: G output outside {spec.value_range}"
        logits = D(fake, labels)
        assert tuple(logits.shape) == (BATCH,), f"{spec}: D gave {tuple(logits.shape)}, want ({BATCH},)"
        _assert_finite("discriminator output", logits)
        loss = logits.mean()
        regularization = getattr(G, "regularization", None)
        if regularization is not None:
            term = regularization()
            assert term.dim() == 0, "regularization() must return a scalar"
            loss = loss + term
        loss.backward()
        for net, what in ((G, "generator"), (D, "discriminator")):
            grads = [p.grad for p in net.parameters() if p.grad is not None]
            assert grads, f"{spec}: no gradient reached the {what}"
            for g in grads:
                _assert_finite(f"{what} gradient", g)


# --- losses -----------------------------------------------------------------------------------
class TinyGenerator(torch.nn.Module):
    """A linear generator from 4-d noise to 2D points, for schedule checks."""

    latent_dim = 4

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(4, 2)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Points from noise; labels are ignored."""
        return self.fc(z)


class TinyDiscriminator(torch.nn.Module):
    """A linear critic on 2D points, for penalty and schedule checks."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(2, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """One logit per point; labels are ignored."""
        return self.fc(x).squeeze(1)


def _scalar(name: str, value) -> None:
    assert isinstance(value, torch.Tensor) and value.dim() == 0, f"{name} must return a scalar tensor"
    assert math.isfinite(float(value.detach())), f"{name} is not finite"


def check_loss(engine: Engine, component: Component) -> None:
    """d_loss, g_loss (and penalty, if any) are finite scalars that backpropagate."""
    torch.manual_seed(0)
    loss = component.obj()
    real = torch.randn(8, requires_grad=True)
    fake = torch.randn(8, requires_grad=True)
    d = loss.d_loss(real, fake)
    _scalar("d_loss", d)
    d.backward()
    assert real.grad is not None and fake.grad is not None, "d_loss must depend on both logits"
    g = loss.g_loss(fake)
    _scalar("g_loss", g)
    fake.grad = None
    g.backward()
    assert fake.grad is not None and torch.isfinite(fake.grad).all(), "g_loss must backpropagate"
    penalty = getattr(loss, "penalty", None)
    if penalty is not None:
        D = TinyDiscriminator()
        term = penalty(D, torch.randn(8, 2), torch.randn(8, 2), None)
        _scalar("penalty", term)
        term.backward()
        assert D.fc.weight.grad is not None, "penalty must backpropagate into D"


# --- data sets --------------------------------------------------------------------------------
@contextlib.contextmanager
def _offline() -> Iterator[None]:
    old = os.environ.get("GANZOO_OFFLINE")
    os.environ["GANZOO_OFFLINE"] = "1"
    try:
        yield
    finally:
        if old is None:
            del os.environ["GANZOO_OFFLINE"]
        else:
            os.environ["GANZOO_OFFLINE"] = old


def check_data(data: Any, where: str) -> None:
    """A Data of the declared shape, dtype, range and labels."""
    assert isinstance(data, Data), f"{where} returned {type(data).__name__}, not ganzoo.Data"
    spec = data.spec
    assert len(data) > 0, f"{where} is empty"
    assert tuple(data.x.shape[1:]) == tuple(spec.shape), f"{where}: samples {tuple(data.x.shape[1:])} != {spec.shape}"
    assert data.x.is_floating_point(), f"{where}: samples must be float"
    lo, hi = spec.value_range
    assert data.x.min() >= lo - TOLERANCE and data.x.max() <= hi + TOLERANCE, f"{where}: samples outside {spec.value_range}"
    if spec.conditional:
        assert data.y is not None and data.y.dtype == torch.int64 and tuple(data.y.shape) == (len(data),), \
            f"{where}: a labelled set needs int64 labels, one per sample"
        assert 0 <= int(data.y.min()) and int(data.y.max()) < spec.num_classes, f"{where}: labels out of range"
    else:
        assert data.y is None, f"{where}: an unlabelled set (num_classes=0) must have y=None"


def check_dataset(engine: Engine, component: Component) -> None:
    """Load the train split offline from the user's data root; absent files must be a clear DataError."""
    from ganzoo.data import default_data_root

    block = {"name": component.name, **(getattr(component.obj, "tiny_params", None) or {})}
    with _offline():
        try:
            data = engine.load_data({"dataset": block}, "train", default_data_root())
        except DataError as exc:
            message = str(exc)
            assert message and "\n" not in message and "Traceback" not in message, "DataError must be one line"
            return
    check_data(data, f"data set {component.name!r}")


# --- schedules --------------------------------------------------------------------------------
def check_schedule(engine: Engine, component: Component) -> None:
    """Two iterations on 2D points with the default loss: finite logs, G updated, state round-trips."""
    from ganzoo.config import DEFAULT_COMPONENTS

    torch.manual_seed(0)
    G, D = TinyGenerator(), TinyDiscriminator()
    loss = engine.registry.get("losses", DEFAULT_COMPONENTS["loss"]).obj()
    schedule = component.obj(G, D, loss, DataSpec((2,)))
    before = [p.detach().clone() for p in G.parameters()]
    for _ in range(2):
        logs = schedule.step(lambda: (torch.randn(8, 2), None))
        assert isinstance(logs, dict) and logs, "step() must return a dict of named values"
        for key, value in logs.items():
            assert math.isfinite(float(torch.as_tensor(value).detach())), f"step() value {key!r} is not finite"
    assert any(not torch.equal(a, p) for a, p in zip(before, G.parameters())), "two iterations left G unchanged"
    sampler = schedule.generator_for_sampling()
    assert tuple(sampler(torch.randn(5, 4)).shape) == (5, 2), "generator_for_sampling() gives the wrong shape"
    schedule.load_state_dict(schedule.state_dict())


# --- experiments ------------------------------------------------------------------------------
def check_experiment(engine: Engine, component: Component) -> None:
    """The experiment resolves to a valid config whose components all exist."""
    config = engine.resolve(component.name)
    assert config["experiment"] == component.name


CHECKS: dict[str, Callable[[Engine, Component], None]] = {
    "networks": check_network,
    "losses": check_loss,
    "datasets": check_dataset,
    "schedules": check_schedule,
    "experiments": check_experiment,
}

__all__ = [
    "CHECKED_KINDS", "DEFAULT_SPECS", "check_component", "check_data", "conformance_cases", "conformance_suite",
    "engine_with", "ganzoo_engine", "ganzoo_plugin_manager", "ganzoo_register", "network_specs",
]
