"""ganzoo's built-in plugins pass the same conformance suite plugin authors run (ganzoo.testing).

The suite is parametrized over everything distribution ``ganzoo`` registers, so components
added to the built-ins later are covered without touching this file.
"""

import re
from pathlib import Path

import pytest

from ganzoo import DataSpec, hookimpl, testing
from ganzoo.engine import Engine
from ganzoo.errors import DataError
from ganzoo.testing import check_component, conformance_cases, conformance_suite, engine_with

test_builtins_conform = conformance_suite("ganzoo")


def test_suite_covers_every_builtin_kind():
    """The built-ins register networks, losses, data sets, schedules and experiments; all are checked."""
    kinds = {kind for kind, _ in conformance_cases(Engine(), "ganzoo")}
    assert kinds == {"networks", "losses", "datasets", "schedules", "experiments"}


def wide_generator(spec, width: int = 4):
    """G emits one value too many per sample."""
    import torch

    class G(torch.nn.Module):
        latent_dim = 2

        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(2, spec.shape[0] + 1)

        def forward(self, z, labels=None):
            return self.fc(z)

    return G(), torch.nn.Linear(spec.shape[0], 1)


wide_generator.example_specs = [DataSpec((2,))]


def nan_loss():
    """d_loss is NaN."""
    import torch

    class NaNLoss:
        def d_loss(self, real, fake):
            return (real.mean() + fake.mean()) * torch.tensor(float("nan"))

        def g_loss(self, fake):
            return -fake.mean()

    return NaNLoss()


class HingeWithCounter:
    """The hinge loss, counting penalty calls; the penalty is on when ``gamma`` > 0."""

    def __init__(self, gamma: float, detach: bool, remember: bool) -> None:
        self.gamma, self.detach, self.remember, self.calls = gamma, detach, remember, 0
        if gamma > 0:
            self.penalty = self._penalty

    def d_loss(self, real, fake):
        """max(0, 1 - D(x)) + max(0, 1 + D(G(z)))."""
        return (1 - real).clamp(min=0).mean() + (1 + fake).clamp(min=0).mean()

    def g_loss(self, fake):
        """-D(G(z))."""
        return -fake.mean()

    def _penalty(self, D, real, fake, labels):
        self.calls += 1
        logits = D(real, labels)
        return self.gamma * (logits.detach() if self.detach else logits).pow(2).mean()

    def state_dict(self):
        """The penalty-call count."""
        return {"calls": self.calls}

    def load_state_dict(self, state):
        """Continue the count (unless this loss forgets it)."""
        if self.remember:
            self.calls = state["calls"]


def detached_penalty(gamma: float = 0.0):
    """With its example gamma on, the penalty is computed from D's logits detached: it never reaches D."""
    return HingeWithCounter(gamma, detach=True, remember=True)


def forgetful_counter(gamma: float = 0.0):
    """A penalty that reaches D, but a counter that load_state_dict() drops."""
    return HingeWithCounter(gamma, detach=False, remember=False)


def counted_penalty(gamma: float = 0.0):
    """The same loss with both faults fixed: it passes."""
    return HingeWithCounter(gamma, detach=False, remember=True)


for _factory in (detached_penalty, forgetful_counter, counted_penalty):
    _factory.example_params = [{"gamma": 1.0}]


def unlabelled_with_labels(root, split, download):
    """Declares no classes but hands out labels."""
    import torch

    from ganzoo.spec import Data, DataSpec

    return Data(torch.zeros(4, 2), torch.zeros(4, dtype=torch.int64), DataSpec((2,)))


def saved_points(root, split, download):
    """Points read from ``root/points-{split}.pt``, declared in [-1, 1]."""
    import torch

    from ganzoo.spec import Data, DataSpec

    return Data(torch.load(Path(root) / f"points-{split}.pt"), None, DataSpec((2,)))


def _write_far_points(root, split):
    """Points at 3, outside the declared range."""
    import torch

    torch.save(torch.full((4, 2), 3.0), Path(root) / f"points-{split}.pt")


saved_points.write_fixture = _write_far_points


def absent_files(root, split, download):
    """No fixture, and no files under the data root: a one-line DataError, which the kit accepts."""
    raise DataError(f"no files under {root}")


def absent_files_with_traceback(root, split, download):
    """The same, with a message of several lines."""
    raise DataError(f"no files under {root}\nTraceback (most recent call last): ...")


class TinyAdamSchedule:
    """One D then one G update, each with Adam; ``forget`` names optimizers state_dict() leaves out."""

    def __init__(self, G, D, loss, spec, forget=()):
        import torch

        self.G, self.D, self.loss, self.forget = G, D, loss, forget
        self.opts = {"opt_g": torch.optim.Adam(G.parameters(), lr=0.1),
                     "opt_d": torch.optim.Adam(D.parameters(), lr=0.1)}

    def _update(self, name, loss):
        self.opts[name].zero_grad()
        loss.backward()
        self.opts[name].step()

    def step(self, next_batch):
        """One D update, then one G update."""
        import torch

        real, _ = next_batch()
        fake = self.G(torch.randn(real.shape[0], self.G.latent_dim))
        d_loss = self.loss.d_loss(self.D(real), self.D(fake.detach()))
        self._update("opt_d", d_loss)
        g_loss = self.loss.g_loss(self.D(fake))
        self._update("opt_g", g_loss)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}

    def generator_for_sampling(self):
        """G itself."""
        return self.G

    def state_dict(self):
        """The optimizers' states, less the forgotten ones."""
        return {name: opt.state_dict() for name, opt in self.opts.items() if name not in self.forget}

    def load_state_dict(self, state):
        """Restore what state_dict() saved."""
        for name, opt_state in state.items():
            self.opts[name].load_state_dict(opt_state)


def tiny_adam(G, D, loss, spec):
    """A schedule that saves both optimizers: it passes."""
    return TinyAdamSchedule(G, D, loss, spec)


def forgets_opt_g(G, D, loss, spec):
    """A schedule whose state leaves out G's optimizer: a resumed run restarts G's Adam moments."""
    return TinyAdamSchedule(G, D, loss, spec, forget=("opt_g",))


class BrokenComponents:
    """A local plugin whose components each break their contract in one way, and their fixed twins."""

    __name__ = "broken-components"

    @hookimpl
    def ganzoo_networks(self, register):
        """One broken network."""
        register("wide", wide_generator)

    @hookimpl
    def ganzoo_losses(self, register):
        """Broken losses and a sound one."""
        register("nan", nan_loss)
        register("detached-penalty", detached_penalty)
        register("forgetful-counter", forgetful_counter)
        register("counted-penalty", counted_penalty)

    @hookimpl
    def ganzoo_datasets(self, register):
        """Broken data sets."""
        register("labelled-lie", unlabelled_with_labels)
        register("far-points", saved_points)
        register("absent-files", absent_files)
        register("absent-files-traceback", absent_files_with_traceback)

    @hookimpl
    def ganzoo_schedules(self, register):
        """A broken schedule and a sound one."""
        register("forgets-opt-g", forgets_opt_g)
        register("tiny-adam", tiny_adam)


@pytest.mark.parametrize(("kind", "name", "message"), [
    ("networks", "wide", "G gave (3, 3)"),
    ("losses", "nan", "d_loss is not finite"),
    ("losses", "detached-penalty", "with {'gamma': 1.0}: penalty call 1 is non-zero but does not backpropagate into D"),
    ("losses", "forgetful-counter", "state_dict() after load_state_dict() differs"),
    ("datasets", "labelled-lie", "must have y=None"),
    ("datasets", "far-points", "(train split of its fixture): samples outside (-1.0, 1.0)"),
    ("datasets", "absent-files-traceback", "DataError must be one line"),
    ("schedules", "forgets-opt-g", "G after 2 iterations after a round trip of the schedule's state differs"),
])
def test_suite_catches_broken_components(kind, name, message):
    """The suite fails a component that breaks its contract, saying how."""
    engine = engine_with(BrokenComponents())
    with pytest.raises(AssertionError, match=re.escape(message)):
        check_component(engine, kind, name)


@pytest.mark.parametrize(("kind", "name"), [("losses", "counted-penalty"), ("schedules", "tiny-adam"),
                                            ("datasets", "absent-files")])
def test_suite_passes_the_fixed_twins(kind, name):
    """The same components without their fault pass: the failures above are the faults, not the harness."""
    check_component(engine_with(BrokenComponents()), kind, name)


@pytest.mark.parametrize(("name", "shape", "num_classes"), [
    ("cifar10", (3, 32, 32), 10),
    ("fashion-mnist", (1, 28, 28), 10),
    ("image-folder", (3, 16, 16), 2),
])
def test_datasets_are_checked_on_their_fixtures(name, shape, num_classes, tmp_path, monkeypatch):
    """With an empty data root, the check loads both splits of the data set's fixture and checks their samples."""
    monkeypatch.setenv("GANZOO_DATA", str(tmp_path))
    checked, check_data = [], testing.check_data

    def spy(data, where):
        checked.append((where, tuple(data.spec.shape), data.spec.num_classes, len(data)))
        check_data(data, where)

    monkeypatch.setattr(testing, "check_data", spy)
    check_component(Engine(), "datasets", name)
    splits = [f"data set {name!r} ({split} split of its fixture)" for split in ("train", "test")]
    assert [c[0] for c in checked] == splits
    assert all(c[1:3] == (shape, num_classes) and c[3] > 0 for c in checked), checked


def _without_files(factory):
    """``factory`` under another name, with a fixture that writes nothing."""

    def load(root, split, download):
        return factory(root, split, download)

    load.write_fixture = lambda root, split: None
    return load


class EmptyFixtures:
    """The built-in cifar10, fashion-mnist and image-folder loaders, each with a fixture that writes nothing."""

    __name__ = "empty-fixtures"

    @hookimpl
    def ganzoo_datasets(self, register):
        """``<name>-empty`` for each."""
        builtins = Engine().registry
        for name in ("cifar10", "fashion-mnist", "image-folder"):
            register(f"{name}-empty", _without_files(builtins.get("datasets", name).obj))


@pytest.mark.parametrize("name", ["cifar10", "fashion-mnist", "image-folder"])
def test_a_fixture_that_writes_nothing_fails(name, tmp_path, monkeypatch):
    """A data set with a fixture is checked on it: absent files are a failure, not an accepted DataError."""
    monkeypatch.setenv("GANZOO_DATA", str(tmp_path))
    with pytest.raises(AssertionError, match=re.escape(f"data set '{name}-empty' (train split of its fixture) "
                                                       "does not load")):
        check_component(engine_with(EmptyFixtures()), "datasets", f"{name}-empty")
