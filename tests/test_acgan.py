"""ACGAN: a discriminator with a class head, whose class losses the schedule adds to both networks' losses;
the sampling sites draw latent inputs through ``draw_latent``, bitwise as before for ordinary generators."""

from __future__ import annotations

import pytest
import torch
from torch.optim.swa_utils import AveragedModel

from ganzoo.cli import main
from ganzoo.errors import ConfigError
from ganzoo.samples import draw_latent, fixed_inputs
from ganzoo.spec import DataSpec
from ganzoo.testing import check_component
from ganzoo_plugins.schedule import AdversarialSchedule

SPEC = DataSpec((1, 28, 28), 10)
TINY = {"latent_dim": 8, "width": 4, "hidden": 16}


class NoAdversary:
    """A loss with no gradient at all: whatever changes the networks under it comes from the auxiliary losses."""

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Zero, but connected to both logits."""
        return 0 * (real.sum() + fake.sum())

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        """Zero, but connected to the logits."""
        return 0 * fake.sum()


def schedule_for(engine, network: str, params: dict, loss) -> tuple[AdversarialSchedule, torch.nn.Module, torch.nn.Module]:
    """An alternating schedule over freshly built tiny networks (seed 0)."""
    torch.manual_seed(0)
    G, D = engine.registry.get("networks", network).obj(SPEC, **params)
    return AdversarialSchedule(G, D, loss, SPEC, n_critic=1, lr_g=1e-3, lr_d=1e-3, betas=(0.5, 0.999),
                               ema_decay=0.0), G, D


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Eight fixed 'real' images with labels."""
    g = torch.Generator().manual_seed(1)
    return torch.rand(8, *SPEC.shape, generator=g) * 2 - 1, torch.randint(0, 10, (8,), generator=g)


def snapshot(module: torch.nn.Module) -> list[torch.Tensor]:
    """A copy of a module's parameters."""
    return [p.detach().clone() for p in module.parameters()]


def changed(before: list[torch.Tensor], module: torch.nn.Module) -> bool:
    """Whether any parameter differs from the snapshot."""
    return any(not torch.equal(a, p) for a, p in zip(before, module.parameters()))


def test_acgan_meets_the_contracts(engine):
    """The conformance kit, with its checks of heads and auxiliary losses, passes for the network and experiment."""
    check_component(engine, "networks", "acgan")
    check_component(engine, "experiments", "acgan-mnist")


def test_discriminator_gives_logits_alone_or_with_its_class_head(engine):
    """D(x) is one logit per image; D(x, heads=True) adds class logits; D ignores labels (it must tell the class)."""
    G, D = engine.registry.get("networks", "acgan").obj(SPEC, **TINY)
    D.eval()
    x, labels = batch()
    with torch.no_grad():
        logits = D(x, labels)
        out = D(x, labels, heads=True)
        other = D(x, (labels + 1) % 10, heads=True)
    assert logits.shape == (8,) and torch.equal(out["logits"], logits)
    assert out["classes"].shape == (8, 10) and torch.equal(other["classes"], out["classes"])
    assert D.heads == ("classes",)


def test_schedule_adds_the_class_losses_to_both_networks(engine):
    """Under a loss without gradients, one step still moves D's class head and G: only the aux losses can; the
    logs carry them. A D without heads under the same loss leaves G untouched (and logs no aux terms)."""
    schedule, G, D = schedule_for(engine, "acgan", TINY, NoAdversary())
    g_before, head_before, source_before = snapshot(G), snapshot(D.classify), snapshot(D.source)
    logs = schedule.step(batch)
    assert changed(head_before, D.classify), "d_aux_loss did not reach D's class head"
    assert changed(g_before, G), "g_aux_loss did not reach G"
    assert not changed(source_before, D.source), "the adversarial head moved without an adversarial gradient"
    assert set(logs) == {"d_loss", "g_loss", "d_aux", "g_aux"}
    assert float(logs["d_aux"]) > 0 and float(logs["g_aux"]) > 0

    plain, G_plain, _ = schedule_for(engine, "dcgan", {"latent_dim": 8, "width": 4}, NoAdversary())
    g_plain = snapshot(G_plain)
    assert set(plain.step(batch)) == {"d_loss", "g_loss"}
    assert not changed(g_plain, G_plain)


def test_class_loss_needs_labels(engine):
    """The class losses without labels are a clear error, not a silent zero."""
    G, D = engine.registry.get("networks", "acgan").obj(SPEC, **TINY)
    out = D(torch.zeros(2, *SPEC.shape), heads=True)
    with pytest.raises(ValueError, match="needs the batch's labels"):
        D.d_aux_loss(out, out, None, torch.zeros(2, 8))


@pytest.mark.parametrize("spec, needs", [
    (DataSpec((1, 28, 28)), "labelled data"),
    (DataSpec((1, 30, 30), 10), "divisible by 4"),
    (DataSpec((2,), 4), "square images"),
])
def test_acgan_refuses_data_it_cannot_serve(engine, spec, needs):
    """Unlabelled data, or images it cannot upsample to, is a one-line ConfigError naming what it needs."""
    with pytest.raises(ConfigError, match=needs):
        engine.registry.get("networks", "acgan").obj(spec)


def test_32px_images_are_served(engine):
    """At 32x32 the same family makes 32x32 images."""
    G, D = engine.registry.get("networks", "acgan").obj(DataSpec((3, 32, 32), 10), **TINY)
    x = G(torch.randn(2, 8), torch.tensor([0, 9]))
    assert x.shape == (2, 3, 32, 32) and D(x, heads=True)["classes"].shape == (2, 10)


def test_draw_latent_is_randn_for_ordinary_generators(engine):
    """Without sample_latent, draw_latent is torch.randn bit for bit (seeded and global), also behind an EMA."""
    G, _ = engine.registry.get("networks", "dcgan").obj(SPEC, latent_dim=8, width=4)
    seeded = draw_latent(G, 5, generator=torch.Generator().manual_seed(3))
    assert torch.equal(seeded, torch.randn(5, 8, generator=torch.Generator().manual_seed(3)))
    torch.manual_seed(4)
    drawn = draw_latent(AveragedModel(G), 6)
    torch.manual_seed(4)
    assert torch.equal(drawn, torch.randn(6, 8))
    z, labels = fixed_inputs(SPEC, G, 8, 4, seed=0)
    g = torch.Generator().manual_seed(7919)
    assert torch.equal(z, torch.randn(40, 8, generator=g)) and labels.tolist() == [i // 4 for i in range(40)]


def test_acgan_mnist_trains_and_refuses_vary(mnist_root, tmp_path, capsys):
    """Two steps on real digits give aux logs and a loadable run; --vary on it (no codes) is one line, exit 2."""
    run_dir = tmp_path / "run"
    sets = ["dataset.limit=128", "train.batch_size=16", "train.steps=2", "train.log_every=1", "eval.metrics=[]",
            "eval.primary=null", "network.width=4", "network.hidden=16"]
    assert main(["run", "acgan-mnist", "--data-root", str(mnist_root), "--out", str(run_dir), "--no-progress",
                 *[a for s in sets for a in ("--set", s)]]) == 0
    assert '"d_aux"' in (run_dir / "metrics.jsonl").read_text()
    capsys.readouterr()
    assert main(["sample", str(run_dir), "--vary", "c1", "-o", str(tmp_path / "grid.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "declares no latent codes" in err and "acgan" in err
    assert not (tmp_path / "grid.png").exists()
