"""A pytest plugin for plugin authors: fixtures and a conformance suite.

Use it from a test package's root ``conftest.py`` (or a test module)::

    pytest_plugins = ["ganzoo.testing"]

    import my_plugin
    from ganzoo.testing import conformance_suite

    test_conformance = conformance_suite(my_plugin)

``conformance_suite`` takes the plugin module (registered for the test unless an entry point
already loaded it) or a distribution or plugin name, and returns one test parametrized over
everything that plugin registers: networks build for their DataSpecs and run forward and
backward on tiny CPU shapes with outputs of the declared shape and range (from latent inputs their
``sample_latent`` draws, with their latent codes and auxiliary heads and losses, where declared); losses, with their
defaults and each of their ``example_params``, give finite scalars that backpropagate, a penalty
(if any) that reaches D over consecutive calls, and a state that round-trips; data sets yield
samples of the declared shape, range and labels (source images for image-to-image data); schedules
complete two iterations (on 2D points, or on the ``example_network`` a schedule names), and two more
after a round trip of their state (through a weights-only checkpoint) equal two more without it;
experiments resolve.

A data set is checked on real samples wherever its files are: a factory with a
``write_fixture(root, split)`` attribute (``ganzoo.contracts.DatasetFactory``) writes a tiny copy
of its files, in the layout it reads, for each split (train, test) into one temporary root, and
both splits are loaded from there offline with its ``tiny_params``. Only a factory without one is
loaded from the user's data root, where absent files may raise a one-line DataError.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import torch
from packaging.utils import canonicalize_name

from ganzoo import contracts
from ganzoo.engine import Engine
from ganzoo.errors import DataError
from ganzoo.plugins import PluginInfo, load_plugins
from ganzoo.registry import Component
from ganzoo.samples import draw_latent
from ganzoo.spec import Data, DataSpec

#: The kinds the suite checks (metrics are checked by their own evaluation tests).
CHECKED_KINDS = ("networks", "losses", "datasets", "schedules", "experiments")
#: Specs a network is built for when its builder declares no ``example_specs``.
DEFAULT_SPECS = (DataSpec((2,)), DataSpec((1, 28, 28), num_classes=10))
BATCH = 3
TOLERANCE = 1e-4
#: Consecutive calls a loss's penalty is checked over: a lazy penalty must apply within them.
PENALTY_CALLS = 4
#: Iterations a schedule runs before its state is saved, and again after.
SCHEDULE_STEPS = 2
#: The splits a data set's fixture is written and loaded for.
FIXTURE_SPLITS = ("train", "test")


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
    specs = list(contracts.optional(builder, contracts.NetworkBuilder, "example_specs") or DEFAULT_SPECS)
    assert specs and all(isinstance(s, DataSpec) for s in specs), "example_specs must be a list of DataSpec"
    return specs


def _labels(spec: DataSpec, n: int):
    """What G and D get as ``labels`` for the spec: classes, source images (image-to-image data) or None."""
    if spec.translation:
        lo, hi = spec.value_range
        return torch.rand(n, *spec.condition_shape) * (hi - lo) + lo
    return torch.randint(0, spec.num_classes, (n,)) if spec.conditional else None


def _assert_finite(name: str, tensor) -> None:
    assert torch.isfinite(tensor).all(), f"{name} has non-finite values"


def _known_params(params: Any, component: Component, what: str) -> dict:
    """``params`` as a dict, when it names only parameters the component takes."""
    assert isinstance(params, dict), f"{what} must be a dict of parameters"
    unknown = set(params) - set(component.params)
    assert not unknown, f"{what} names unknown parameters {sorted(unknown)}"
    return dict(params)


def check_network(engine: Engine, component: Component) -> None:
    """Build for each spec; G(z) has the sample shape and range, D gives one logit (or a map of them) per sample;
    grads flow.

    G's inputs come from ``draw_latent`` (its ``sample_latent`` where it has one); declared latent
    codes, auxiliary heads and their losses are checked too (``_check_codes``, ``_check_heads``).
    """
    params = _known_params(contracts.optional(component.obj, contracts.NetworkBuilder, "tiny_params") or {},
                           component, "tiny_params")
    for spec in network_specs(component.obj):
        torch.manual_seed(0)
        G, D = component.obj(spec, **params)
        assert isinstance(G, torch.nn.Module) and isinstance(D, torch.nn.Module), "builder must return two nn.Modules"
        assert isinstance(G.latent_dim, int) and (G.latent_dim > 0 or spec.translation and G.latent_dim == 0), \
            "generator needs an int latent_dim (0 only for image-to-image data)"
        labels = _labels(spec, BATCH)
        z = draw_latent(G, BATCH)
        assert tuple(z.shape) == (BATCH, G.latent_dim) and z.is_floating_point(), \
            f"{spec}: sample_latent gave {tuple(z.shape)} {z.dtype}, want ({BATCH}, {G.latent_dim}) floats"
        _check_codes(G, spec, z, labels)
        fake = G(z, labels)
        assert tuple(fake.shape) == (BATCH, *spec.shape), f"{spec}: G gave {tuple(fake.shape)}"
        _assert_finite("generator output", fake)
        if spec.kind != "points":
            lo, hi = spec.value_range
            assert fake.min() >= lo - TOLERANCE and fake.max() <= hi + TOLERANCE, \
                f"{spec}: G output outside {spec.value_range}"
        logits = D(fake, labels)
        assert logits.dim() >= 1 and logits.shape[0] == BATCH, \
            f"{spec}: D gave {tuple(logits.shape)}, want ({BATCH},) or a map ({BATCH}, ...)"
        _assert_finite("discriminator output", logits)
        loss = logits.mean() + _check_heads(D, spec, fake, labels, z)
        regularization = contracts.optional(G, contracts.Generator, "regularization")
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


def _check_codes(G: Any, spec: DataSpec, z: torch.Tensor, labels: Any) -> None:
    """Declared latent codes come with ``with_code``, which sets each one without touching the rest of z's
    shape, and G samples from the result."""
    codes = contracts.optional(G, contracts.Generator, "codes")
    with_code = contracts.optional(G, contracts.Generator, "with_code")
    assert (codes is None) == (with_code is None), "a generator declares codes and with_code together"
    for name, size in dict(codes or {}).items():
        assert isinstance(size, int) and size >= 0, f"code {name!r}: size must be an int >= 0 (0: continuous)"
        values = torch.arange(BATCH) % size if size else torch.linspace(-2, 2, BATCH)
        others = (values + 1) % size if size else values + 1
        coded = with_code(z, name, values)
        assert tuple(coded.shape) == tuple(z.shape), f"with_code({name!r}) changed z's shape"
        assert not torch.equal(coded, with_code(z, name, others)), \
            f"with_code({name!r}) gives the same z for different values"
        _assert_finite(f"G output with code {name!r} set", G(coded, labels))


def _check_heads(D: Any, spec: DataSpec, fake: torch.Tensor, labels: Any, z: torch.Tensor) -> torch.Tensor:
    """For a D with auxiliary heads: ``D(x, labels, heads=True)`` gives the logits and every head, the aux
    losses are finite scalars that reach a head (D's) and the generated batch (G's); their sum, else 0."""
    heads = tuple(contracts.optional(D, contracts.Discriminator, "heads") or ())
    d_aux = contracts.optional(D, contracts.Discriminator, "d_aux_loss")
    g_aux = contracts.optional(D, contracts.Discriminator, "g_aux_loss")
    if not heads:
        assert d_aux is None and g_aux is None, "d_aux_loss / g_aux_loss need the auxiliary heads D declares"
        return torch.zeros(())
    assert d_aux is not None or g_aux is not None, f"D declares heads {heads} but no d_aux_loss or g_aux_loss"
    lo, hi = spec.value_range
    real = torch.rand(BATCH, *spec.shape) * (hi - lo) + lo
    outs = {}
    for which, x in (("real", real), ("fake", fake)):
        out = D(x, labels, heads=True)
        assert isinstance(out, dict), f"{spec}: D(x, labels, heads=True) must return a dict"
        missing = [k for k in ("logits", *heads) if k not in out]
        assert not missing, f"{spec}: D(x, labels, heads=True) lacks {missing}"
        assert tuple(out["logits"].shape) == (BATCH,), f"{spec}: heads=True logits {tuple(out['logits'].shape)}"
        for head in heads:
            assert out[head].shape[0] == BATCH, f"{spec}: head {head!r} gave {tuple(out[head].shape)}"
            _assert_finite(f"head {head!r}", out[head])
        outs[which] = out
    total = torch.zeros(())
    head_outputs = [outs[w][h] for w in outs for h in heads]
    if d_aux is not None:
        term = d_aux(outs["real"], outs["fake"], labels, z)
        _scalar("d_aux_loss", term)
        grads = torch.autograd.grad(term, head_outputs, retain_graph=True, allow_unused=True)
        assert any(g is not None and bool(g.ne(0).any()) for g in grads), "d_aux_loss does not depend on D's heads"
        total = total + term
    if g_aux is not None:
        term = g_aux(outs["fake"], labels, z)
        _scalar("g_aux_loss", term)
        (grad,) = torch.autograd.grad(term, fake, retain_graph=True, allow_unused=True)
        assert grad is not None and bool(grad.ne(0).any()), "g_aux_loss does not reach the generated samples"
        total = total + term
    return total


# --- losses -----------------------------------------------------------------------------------
class TinyGenerator(torch.nn.Module):
    """A linear generator from 4-d noise to 2D points, for schedule checks (and plugin authors' own tests)."""

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


def same_state(a: Any, b: Any) -> bool:
    """Whether two saved states are equal: tensors bitwise (dtype and shape too), containers item by item."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype
                and a.shape == b.shape and torch.equal(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_state(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_state(x, y) for x, y in zip(a, b))
    return a == b


def _checkpointed(state: Any) -> Any:
    """``state`` after a trip through a checkpoint: saved with torch.save, loaded back weights-only."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def loss_params(component: Component) -> list[dict]:
    """The parameter sets a loss is checked with: its defaults, then each of its ``example_params``."""
    examples = contracts.optional(component.obj, contracts.LossFactory, "example_params") or []
    return [{}, *(_known_params(p, component, "example_params") for p in examples)]


def check_loss(engine: Engine, component: Component) -> None:
    """With the defaults and each ``example_params`` set: the losses, the penalty and the state (see below)."""
    for params in loss_params(component):
        where = f"loss {component.name!r}" + (f" with {params}" if params else "")
        torch.manual_seed(0)
        loss = component.obj(**params)
        _check_logit_losses(loss, where)
        _check_penalty(loss, where)
        _check_loss_state(loss, component, params, where)


def _check_logit_losses(loss: Any, where: str) -> None:
    """d_loss and g_loss (given the real logits when the loss needs them) are finite scalars that backpropagate."""
    real = torch.randn(8, requires_grad=True)
    fake = torch.randn(8, requires_grad=True)
    d = loss.d_loss(real, fake)
    _scalar(f"{where}: d_loss", d)
    d.backward()
    assert real.grad is not None and fake.grad is not None, f"{where}: d_loss must depend on both logits"
    fake.grad = None
    needs_real = bool(contracts.optional(loss, contracts.Loss, "g_needs_real"))
    g = loss.g_loss(fake, real) if needs_real else loss.g_loss(fake)
    _scalar(f"{where}: g_loss", g)
    g.backward()
    assert fake.grad is not None and torch.isfinite(fake.grad).all(), f"{where}: g_loss must backpropagate"


def _check_penalty(loss: Any, where: str) -> None:
    """Over consecutive calls the penalty is a finite scalar; a non-zero one backpropagates into D's parameters,
    and at least one is non-zero (a lazy penalty returns zeros between the calls it applies on)."""
    penalty = contracts.optional(loss, contracts.Loss, "penalty")
    if penalty is None:
        return
    D = TinyDiscriminator()
    applied = 0
    for call in range(1, PENALTY_CALLS + 1):
        D.zero_grad(set_to_none=True)
        term = penalty(D, torch.randn(8, 2), torch.randn(8, 2), None)
        _scalar(f"{where}: penalty (call {call})", term)
        if float(term.detach()) == 0:
            continue
        assert term.requires_grad, f"{where}: penalty call {call} is non-zero but does not backpropagate into D"
        term.backward()
        grads = [p.grad for p in D.parameters() if p.grad is not None]
        assert any(bool(g.ne(0).any()) for g in grads), f"{where}: penalty call {call} gives D no gradient"
        for g in grads:
            _assert_finite(f"{where}: penalty gradient", g)
        applied += 1
    assert applied, f"{where}: the penalty was zero in {PENALTY_CALLS} consecutive calls"


def _check_loss_state(loss: Any, component: Component, params: dict, where: str) -> None:
    """A loss with counters saves them through a checkpoint, and a fresh one (same params) loaded with them saves
    the same."""
    save = contracts.optional(loss, contracts.Loss, "state_dict")
    load = contracts.optional(loss, contracts.Loss, "load_state_dict")
    assert (save is None) == (load is None), f"{where}: state_dict and load_state_dict come together"
    if save is None:
        return
    state = _checkpointed(save())
    restored = component.obj(**params)
    restored.load_state_dict(copy.deepcopy(state))
    assert same_state(restored.state_dict(), state), f"{where}: state_dict() after load_state_dict() differs"


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
    """A Data of the declared shape, dtype (float, or uint8 pixels for images), range and labels."""
    assert isinstance(data, Data), f"{where} returned {type(data).__name__}, not ganzoo.Data"
    spec = data.spec
    assert len(data) > 0, f"{where} is empty"
    assert tuple(data.x.shape[1:]) == tuple(spec.shape), f"{where}: samples {tuple(data.x.shape[1:])} != {spec.shape}"
    assert data.x.is_floating_point() or (spec.kind == "image" and data.x.dtype == torch.uint8), \
        f"{where}: samples must be float, or uint8 pixels for images"
    lo, hi = spec.value_range
    x = data.floats()
    assert x.min() >= lo - TOLERANCE and x.max() <= hi + TOLERANCE, f"{where}: samples outside {spec.value_range}"
    if spec.translation:
        assert data.y is not None and data.y.is_floating_point() and \
            tuple(data.y.shape) == (len(data), *spec.condition_shape), \
            f"{where}: image-to-image data needs float source images of shape {spec.condition_shape}, one per sample"
        assert data.y.min() >= lo - TOLERANCE and data.y.max() <= hi + TOLERANCE, \
            f"{where}: source images outside {spec.value_range}"
    elif spec.conditional:
        assert data.y is not None and data.y.dtype == torch.int64 and tuple(data.y.shape) == (len(data),), \
            f"{where}: a labelled set needs int64 labels, one per sample"
        assert 0 <= int(data.y.min()) and int(data.y.max()) < spec.num_classes, f"{where}: labels out of range"
    else:
        assert data.y is None, f"{where}: an unlabelled set (num_classes=0) must have y=None"


def _load(engine: Engine, component: Component, split: str, root: Path) -> Any:
    """The split of the data set, loaded offline from ``root`` with its ``tiny_params``."""
    tiny = contracts.optional(component.obj, contracts.DatasetFactory, "tiny_params") or {}
    with _offline():
        return engine.load_data({"dataset": {"name": component.name, **tiny}}, split, root)


def check_dataset(engine: Engine, component: Component) -> None:
    """Real samples from the factory's ``write_fixture`` when it has one, else from the user's data root."""
    write_fixture = contracts.optional(component.obj, contracts.DatasetFactory, "write_fixture")
    if write_fixture is None:
        check_user_dataset(engine, component)
    else:
        check_fixture_dataset(engine, component, write_fixture)


def check_fixture_dataset(engine: Engine, component: Component, write_fixture: Callable[[Path, str], None]) -> None:
    """Write the fixture of every split into a temporary root, then load each split from it: real samples."""
    with tempfile.TemporaryDirectory(prefix="ganzoo-fixture-") as tmp:
        root = Path(tmp)
        for split in FIXTURE_SPLITS:
            write_fixture(root, split)
        for split in FIXTURE_SPLITS:
            where = f"data set {component.name!r} ({split} split of its fixture)"
            try:
                data = _load(engine, component, split, root)
            except DataError as exc:
                raise AssertionError(f"{where} does not load: {exc}") from None
            check_data(data, where)


def check_user_dataset(engine: Engine, component: Component) -> None:
    """Load the train split offline from the user's data root; absent files must be a clear DataError."""
    from ganzoo.data import default_data_root

    try:
        data = _load(engine, component, "train", default_data_root())
    except DataError as exc:
        message = str(exc)
        assert message and "\n" not in message and "Traceback" not in message, "DataError must be one line"
        return
    check_data(data, f"data set {component.name!r}")


# --- schedules --------------------------------------------------------------------------------
def _batch(spec: DataSpec) -> Callable[[], tuple[torch.Tensor, Any]]:
    """``next_batch`` for a schedule check: 8 random samples of the spec (2D points: Gaussian) and their labels."""
    def next_batch() -> tuple[torch.Tensor, Any]:
        if spec.kind == "points":
            x = torch.randn(8, *spec.shape)
        else:
            lo, hi = spec.value_range
            x = torch.rand(8, *spec.shape) * (hi - lo) + lo
        return x, _labels(spec, 8)

    return next_batch


def schedule_example(engine: Engine, component: Component) -> tuple[Callable[[], tuple[Any, Any]], DataSpec]:
    """What a schedule is checked on: (a maker of fresh G and D, their DataSpec): its ``example_network`` built
    with that network's ``tiny_params``, else tiny linear networks over 2D points."""
    example = contracts.optional(component.obj, contracts.ScheduleFactory, "example_network")
    if example is None:
        return (lambda: (TinyGenerator(), TinyDiscriminator())), DataSpec((2,))
    name, spec = example
    network = engine.registry.get("networks", name)
    params = contracts.optional(network.obj, contracts.NetworkBuilder, "tiny_params") or {}
    return (lambda: network.obj(spec, **params)), spec


def _tiny_schedule(engine: Engine, component: Component, weights: dict | None = None) -> tuple[Any, Any, Any]:
    """(schedule, G, D): the schedule over fresh tiny networks, loaded with ``weights`` if given, and a fresh
    default loss, built from seed 0."""
    from ganzoo.config import DEFAULT_COMPONENTS

    make_networks, spec = schedule_example(engine, component)
    torch.manual_seed(0)
    G, D = make_networks()
    if weights is not None:
        G.load_state_dict(weights["G"])
        D.load_state_dict(weights["D"])
    loss = engine.registry.get("losses", DEFAULT_COMPONENTS["loss"]).obj()
    return component.obj(G, D, loss, spec), G, D


def _steps(schedule: Any, n: int, spec: DataSpec) -> list[dict]:
    """The logs of ``n`` iterations on random batches of ``spec``, each a non-empty dict of finite values."""
    next_batch = _batch(spec)
    logs = [schedule.step(next_batch) for _ in range(n)]
    for log in logs:
        assert isinstance(log, dict) and log, "step() must return a dict of named values"
        for key, value in log.items():
            assert math.isfinite(float(torch.as_tensor(value).detach())), f"step() value {key!r} is not finite"
    return logs


def check_schedule(engine: Engine, component: Component) -> None:
    """Two iterations on 2D points (or the schedule's ``example_network``) with the default loss: finite logs, G
    updated; then the state round-trips."""
    schedule, G, D = _tiny_schedule(engine, component)
    spec = schedule_example(engine, component)[1]
    before = [p.detach().clone() for p in G.parameters()]
    _steps(schedule, SCHEDULE_STEPS, spec)
    assert any(not torch.equal(a, p) for a, p in zip(before, G.parameters())), "two iterations left G unchanged"
    sampler = schedule.generator_for_sampling()
    assert tuple(sampler(draw_latent(sampler, 5), _labels(spec, 5)).shape) == (5, *spec.shape), \
        "generator_for_sampling() gives the wrong shape"
    check_schedule_resume(engine, component, schedule, G, D)


def check_schedule_resume(engine: Engine, component: Component, schedule: Any, G: Any, D: Any) -> None:
    """Two more iterations after a checkpoint round trip equal two more without it, bitwise on the CPU.

    The checkpoint holds both networks' weights, the schedule's state and the RNG state, saved and loaded
    back weights-only as ganzoo's checkpoints are; the restored schedule is built afresh from the same seed.
    """
    saved = _checkpointed({"G": G.state_dict(), "D": D.state_dict(), "schedule": schedule.state_dict(),
                           "rng": torch.get_rng_state()})
    spec = schedule_example(engine, component)[1]
    continued = _steps(schedule, SCHEDULE_STEPS, spec)
    restored, G2, _ = _tiny_schedule(engine, component, saved)
    restored.load_state_dict(saved["schedule"])
    torch.set_rng_state(saved["rng"])
    resumed = _steps(restored, SCHEDULE_STEPS, spec)
    what = f"{SCHEDULE_STEPS} iterations after a round trip of the schedule's state"
    assert same_state(G2.state_dict(), G.state_dict()), f"G after {what} differs from G without it"
    assert same_state(resumed, continued), f"the logs of {what} differ from those without it"


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
    "engine_with", "ganzoo_engine", "ganzoo_plugin_manager", "ganzoo_register", "loss_params", "network_specs",
    "same_state", "TinyDiscriminator", "TinyGenerator",
]
