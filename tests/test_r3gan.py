"""R3GAN (Huang et al. 2024): the conformance kit, and what makes the network R3GAN's: no normalization, grouped
inverted bottlenecks that start as the identity with fix-up-scaled weights, a basis at the lowest resolution,
penalties that differentiate through D twice, and the relativistic loss with R1 and R2 in its experiments."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from ganzoo.cli import main
from ganzoo.engine import Engine
from ganzoo.errors import ConfigError
from ganzoo.spec import DataSpec
from ganzoo.testing import conformance_suite

ENGINE = Engine()  # loads this checkout's built-ins under their import name, ganzoo_plugins

from ganzoo_plugins import r3gan  # noqa: E402
from ganzoo_plugins.losses import gradient_penalty  # noqa: E402
from ganzoo_plugins.minibatch_std import MinibatchStd  # noqa: E402
from ganzoo_plugins.r3gan_nets import ResidualBlock, fixup_scale  # noqa: E402

test_conformance = conformance_suite(r3gan)

TINY = {"latent_dim": 8, "widths": [16, 8, 8], "group_size": 4}
MNIST = DataSpec((1, 28, 28), 10)
NORMS = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm, nn.LocalResponseNorm)


def build(spec: DataSpec = MNIST, **params):
    """G and D from seed 0 with the tiny widths, overridden by ``params``."""
    torch.manual_seed(0)
    return r3gan.build_r3gan(spec, **{**TINY, **params})


@pytest.mark.parametrize("spec", [MNIST, DataSpec((1, 32, 32)), DataSpec((3, 32, 32), 10)])
def test_shapes_and_range(spec):
    """28x28 and 32x32 images, one or three channels: samples in [-1, 1] of the data's shape, one logit each."""
    G, D = build(spec)
    labels = torch.randint(0, 10, (5,)) if spec.conditional else None
    x = G(torch.randn(5, G.latent_dim), labels)
    assert x.shape == (5, *spec.shape) and x.abs().max() <= 1
    assert D(x, labels).shape == (5,)


def test_no_normalization_layers():
    """Neither network holds a normalization layer or a spectral-norm parametrization."""
    for net in build():
        assert not [m for m in net.modules() if isinstance(m, NORMS) or hasattr(m, "parametrizations")]


def test_residual_blocks_are_grouped_inverted_bottlenecks():
    """Every block widens by ``expansion`` with a 1x1 conv, mixes in groups of ``group_size`` with a 3x3 conv and
    narrows back with a 1x1 conv; both networks have ``blocks`` of them per resolution."""
    for net in build(blocks=2, expansion=2):
        blocks = [m for m in net.modules() if isinstance(m, ResidualBlock)]
        assert len(blocks) == 2 * len(TINY["widths"])
        for block in blocks:
            channels = block.expand.in_channels
            assert (block.expand.kernel_size, block.expand.out_channels) == ((1, 1), 2 * channels)
            assert block.spatial.kernel_size == (3, 3) and block.spatial.groups == 2 * channels // 4 > 1
            assert (block.project.kernel_size, block.project.out_channels) == ((1, 1), channels)


def test_every_block_is_the_identity_at_initialization():
    """Fix-up: the branch's last layer starts at zero, so a block passes its input through unchanged."""
    for net in build():
        for block in (m for m in net.modules() if isinstance(m, ResidualBlock)):
            assert not block.project.weight.any() and not block.project.bias.any()
            x = torch.randn(2, block.expand.in_channels, 7, 7)
            assert torch.equal(block(x), x)


def test_fixup_scales_the_branch_weights_by_the_number_of_blocks():
    """The other branch layers are He-initialized and scaled by L^(-1/4): four times the blocks, 1/sqrt(2) the std."""
    wide = {"widths": [64, 64], "group_size": 16}
    stds = []
    for blocks in (1, 4):
        G, _ = build(**wide, blocks=blocks)
        first = next(m for m in G.modules() if isinstance(m, ResidualBlock))
        stds.append(first.expand.weight.std().item())
    assert fixup_scale(8) / fixup_scale(2) == pytest.approx(2 ** -0.5)
    assert stds[1] / stds[0] == pytest.approx(2 ** -0.5, rel=0.05)
    he_std = (2 / (1 + 0.2**2) / 64) ** 0.5  # kaiming normal for leaky ReLU 0.2, fan-in 64
    assert stds[0] == pytest.approx(he_std * fixup_scale(2), rel=0.05)


def test_generator_starts_from_a_basis_at_the_lowest_resolution():
    """G's first feature map is a learned constant basis of the bottom size (7x7 for 28x28 over three stages, 4x4
    for 32x32 over four), scaled per channel by a linear map of z; D ends in a depthwise conv over that size."""
    for spec, widths, bottom in ((MNIST, [16, 8, 8], 7), (DataSpec((3, 32, 32)), [8, 8, 8, 8], 4)):
        G, D = build(spec, widths=widths)
        assert G.basis.shape == (widths[0], bottom, bottom)
        assert D.basis.kernel_size == (bottom, bottom) and D.basis.groups == widths[0]


def test_penalties_differentiate_through_the_discriminator_twice():
    """R1 and R2 (gradient norms of D at real and generated images) backpropagate into every weight of D.

    The zero-initialized layers (each branch's last conv, the projection) are given values first: at zero they
    leave the layers before them without a gradient, by design. Biases are left out, since the input gradient of
    a piecewise-linear network does not depend on them."""
    G, D = build()
    for m in D.modules():
        if isinstance(m, ResidualBlock):
            nn.init.normal_(m.project.weight, std=0.1)
    nn.init.normal_(D.projection.weight)
    labels = torch.randint(0, 10, (4,))
    real, fake = torch.rand(4, *MNIST.shape) * 2 - 1, G(torch.randn(4, G.latent_dim), labels).detach()
    (gradient_penalty(D, real, labels, 1.0) + gradient_penalty(D, fake, labels, 1.0)).backward()
    weights = [(name, p) for name, p in D.named_parameters() if not name.endswith("bias")]
    assert len(weights) > 10 and not [name for name, p in weights if p.grad is None or not p.grad.any()]


def test_labels_condition_both_networks():
    """With labelled data G draws another image for another label, and D's projection judges image and label
    together; ``conditional: false`` builds an unconditional pair."""
    G, D = build()
    z = torch.randn(1, G.latent_dim).repeat(2, 1)
    images = G(z, torch.tensor([3, 5]))
    assert G.num_classes == D.num_classes == 10 and not torch.equal(images[0], images[1])
    nn.init.normal_(D.projection.weight)
    scores = D(images[:1].repeat(2, 1, 1, 1), torch.tensor([3, 5]))
    assert not torch.isclose(scores[0], scores[1])
    G, D = build(conditional=False)
    assert G.num_classes == D.num_classes == 0 and G.embedding is None and D.projection is None


def test_minibatch_std_appends_the_group_spread_as_a_channel():
    """Each sample gets its group's mean feature standard deviation as one more channel: zero for a group of copies,
    the population std for known values; a batch the group size does not divide is grouped by a divisor."""
    layer = MinibatchStd(4)
    copies = torch.randn(1, 3, 2, 2).repeat(4, 1, 1, 1)
    out = layer(copies)
    assert out.shape == (4, 4, 2, 2) and torch.equal(out[:, :3], copies) and out[:, 3].max() < 1e-3
    spread = torch.tensor([0.0, 2.0, 0.0, 2.0]).view(4, 1, 1, 1).expand(4, 3, 2, 2)  # std 1 in every feature
    assert torch.allclose(layer(spread)[:, 3], torch.ones(4, 2, 2))
    assert layer(torch.randn(6, 3, 2, 2)).shape == (6, 4, 2, 2)  # groups of 3


def test_minibatch_std_lets_d_judge_a_sample_by_its_batch():
    """Off (the paper), D's logit for an image does not depend on the rest of its batch; with ``minibatch_std`` it
    does, so D can tell a collapsed batch from a varied one."""
    x = torch.rand(4, *MNIST.shape) * 2 - 1
    labels = torch.zeros(4, dtype=torch.long)
    collapsed = x[:1].repeat(4, 1, 1, 1)
    for groups, depends in ((0, False), (4, True)):
        _, D = build(minibatch_std=groups)
        for m in D.modules():
            if isinstance(m, ResidualBlock):
                nn.init.normal_(m.project.weight, std=0.1)
        with torch.no_grad():
            assert torch.isclose(D(x, labels)[0], D(collapsed, labels)[0], atol=1e-6).item() is not depends


@pytest.mark.parametrize(("spec", "params", "message"), [
    (DataSpec((2,)), {}, "serves square CxHxW images, got data of shape 2"),
    (MNIST, {"widths": [8, 8, 8, 8]}, "do not halve 3 times to a side of 2 or more"),
    (MNIST, {"group_size": 3}, "network.group_size 3 must divide every width x expansion"),
    (MNIST, {"widths": []}, "network.widths must list a positive width"),
    (MNIST, {"minibatch_std": -1}, "network.minibatch_std is the group size"),
])
def test_bad_configs_are_one_line_errors(spec, params, message):
    """Data or sizes the network cannot serve are a ConfigError naming what to change."""
    with pytest.raises(ConfigError, match=message) as info:
        build(spec, **params)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", ["r3gan-mnist", "r3gan-cifar10"])
def test_experiments_use_rpgan_with_r1_and_r2(name):
    """Both experiments train R3GAN with the relativistic pairing loss and both penalties, Adam beta1 0."""
    config = ENGINE.resolve(name)
    assert config["network"]["name"] == "r3gan" and config["loss"]["name"] == "rpgan"
    assert config["loss"]["r1_gamma"] > 0 and config["loss"]["r2_gamma"] > 0
    assert config["schedule"]["betas"][0] == 0 and config["schedule"]["ema_decay"] > 0


def test_r3gan_mnist_trains_end_to_end(mnist_root, tmp_path, capsys):
    """Two steps of r3gan-mnist (tiny widths) on 256 real digits write a run whose final grid and checkpoint load."""
    run_dir = tmp_path / "run"
    sets = ["dataset.limit=256", "train.batch_size=16", "train.steps=2", "train.log_every=1", "sample.n=10",
            "eval.metrics=[]", "eval.primary=null", "network.widths=[16,8,8]", "network.group_size=4"]
    rc = main(["run", "r3gan-mnist", "--data-root", str(mnist_root), "--out", str(run_dir), "--no-progress",
               *[arg for item in sets for arg in ("--set", item)]])
    assert rc == 0, capsys.readouterr().err
    events = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [e["step"] for e in events if e["event"] == "train"] == [1, 2]
    assert torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["step"] == 2
