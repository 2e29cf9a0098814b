"""ganzoo's built-in plugins pass the same conformance suite plugin authors run (ganzoo.testing).

The suite is parametrized over everything distribution ``ganzoo`` registers, so components
added to the built-ins later are covered without touching this file.
"""

import re

import pytest

from ganzoo import DataSpec, hookimpl
from ganzoo.engine import Engine
from ganzoo.testing import check_component, conformance_cases, conformance_suite, engine_with

test_builtins_conform = conformance_suite("ganzoo")


def test_suite_covers_every_builtin_kind():
    """The built-ins register networks, losses, data sets, schedules and experiments; all are checked."""
    kinds = {kind for kind, _ in conformance_cases(Engine(), "ganzoo")}
    assert kinds == {"networks", "losses", "datasets", "schedules", "experiments"}


class BrokenComponents:
    """A local plugin whose every component breaks its contract in one way."""

    __name__ = "broken-components"

    @staticmethod
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

    @staticmethod
    def nan_loss():
        """d_loss is NaN."""
        import torch

        class NaNLoss:
            def d_loss(self, real, fake):
                return (real.mean() + fake.mean()) * torch.tensor(float("nan"))

            def g_loss(self, fake):
                return -fake.mean()

        return NaNLoss()

    @staticmethod
    def unlabelled_with_labels(root, split, download):
        """Declares no classes but hands out labels."""
        import torch

        from ganzoo.spec import Data, DataSpec

        return Data(torch.zeros(4, 2), torch.zeros(4, dtype=torch.int64), DataSpec((2,)))

    wide_generator.example_specs = [DataSpec((2,))]

    @hookimpl
    def ganzoo_networks(self, register):
        """One broken network."""
        register("wide", self.wide_generator)

    @hookimpl
    def ganzoo_losses(self, register):
        """One broken loss."""
        register("nan", self.nan_loss)

    @hookimpl
    def ganzoo_datasets(self, register):
        """One broken data set."""
        register("labelled-lie", self.unlabelled_with_labels)


@pytest.mark.parametrize(("kind", "name", "message"), [
    ("networks", "wide", "G gave (3, 3)"),
    ("losses", "nan", "d_loss is not finite"),
    ("datasets", "labelled-lie", "must have y=None"),
])
def test_suite_catches_broken_components(kind, name, message):
    """The suite fails a component that breaks its contract, saying how."""
    engine = engine_with(BrokenComponents())
    with pytest.raises(AssertionError, match=re.escape(message)):
        check_component(engine, kind, name)
