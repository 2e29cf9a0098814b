"""SNGAN (Miyato et al. 2018): the conformance kit, and what makes the networks SNGAN's: unit spectral norms on every
layer of both discriminators, the projection term, the paper's ResNet shapes for 32x32, and the hinge loss with the
paper's optimizer settings in its experiments."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganzoo.engine import Engine
from ganzoo.errors import ConfigError
from ganzoo.spec import DataSpec
from ganzoo.testing import conformance_suite

ENGINE = Engine()  # loads this checkout's built-ins under their import name, ganzoo_plugins

from ganzoo_plugins import sngan  # noqa: E402
from ganzoo_plugins.sngan_nets import DownBlock, UpBlock, upsamplings  # noqa: E402

test_conformance = conformance_suite(sngan)

MNIST = DataSpec((1, 28, 28), 10)
CIFAR = DataSpec((3, 32, 32))
TINY_RESNET = {"latent_dim": 8, "g_channels": 8, "d_channels": 8}


def settled_sigmas(D: nn.Module, spec: DataSpec) -> list[float]:
    """The largest singular value of every spectrally normalized weight of D after 30 power iterations."""
    x = torch.randn(4, *spec.shape)
    labels = torch.randint(0, spec.num_classes, (4,)) if spec.conditional else None
    for _ in range(30):
        D(x, labels)
    sigmas = []
    for module in D.modules():
        if hasattr(module, "parametrizations"):
            weight = module.weight.detach()
            sigmas.append(torch.linalg.matrix_norm(weight.reshape(weight.shape[0], -1), ord=2).item())
    return sigmas


def layers(net: nn.Module) -> list[nn.Module]:
    """The convolutions, linear layers and embeddings of a network."""
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding))]


def test_standard_cnn_discriminator_has_unit_spectral_norms():
    """Every layer of the standard CNN D is normalized, and after the power iteration settles its largest
    singular value is 1."""
    torch.manual_seed(0)
    _, D = sngan.build_sngan(MNIST, **sngan.build_sngan.tiny_params)
    assert all(hasattr(m, "parametrizations") for m in layers(D))
    sigmas = settled_sigmas(D, MNIST)
    assert len(sigmas) == 7  # 2 convs per scale x 2 scales, last conv, linear, projection embedding
    assert sigmas == pytest.approx([1.0] * 7, abs=0.02)


def test_resnet_discriminator_has_unit_spectral_norms():
    """Every conv and linear layer of the ResNet D, shortcuts included, is normalized to a largest singular value
    of 1."""
    torch.manual_seed(0)
    _, D = sngan.build_sngan_resnet(CIFAR, **TINY_RESNET)
    assert all(hasattr(m, "parametrizations") for m in layers(D))
    sigmas = settled_sigmas(D, CIFAR)
    assert len(sigmas) == 11  # 2 convs per block x 4 blocks, 2 shortcut convs, linear
    assert sigmas == pytest.approx([1.0] * 11, abs=0.02)


def test_resnet_has_the_papers_shapes_for_32x32():
    """Appendix B: G maps z (128) to 4x4x256 and up through three ResBlocks of 256 channels to 32x32x3; D's optimized
    block and down block pool 32 -> 16 -> 8, two plain blocks keep 8x8x128, global sum pooling gives 128 features."""
    torch.manual_seed(0)
    G, D = sngan.build_sngan_resnet(CIFAR)
    shapes: list[tuple] = []
    hooks = [m.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:])))
             for m in (G.project, *G.blocks, *D.blocks, D.linear)]
    x = G(torch.randn(2, 128))
    D(x)
    for hook in hooks:
        hook.remove()
    assert G.latent_dim == 128 and x.shape == (2, 3, 32, 32) and x.abs().max() <= 1
    assert shapes == [(4 * 4 * 256,), (256, 8, 8), (256, 16, 16), (256, 32, 32),
                      (128, 16, 16), (128, 8, 8), (128, 8, 8), (128, 8, 8), (1,)]
    assert sum(isinstance(m, UpBlock) for m in G.modules()) == 3
    assert [type(b.shortcut) for b in D.blocks] == [nn.Sequential, nn.Sequential, nn.Identity, nn.Identity]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in G.modules()) == 7
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())


def test_optimized_block_pools_before_its_shortcut_conv():
    """The first block sees the image itself: no ReLU before its first conv, and its shortcut pools, then convolves."""
    block = DownBlock(3, 8, down=True, optimized=True, power_iterations=1)
    assert isinstance(block.residual[0], nn.Conv2d)
    assert isinstance(block.shortcut[0], nn.AvgPool2d) and isinstance(block.shortcut[1], nn.Conv2d)
    plain = DownBlock(8, 8, down=True, optimized=False, power_iterations=1)
    assert isinstance(plain.residual[0], nn.ReLU) and isinstance(plain.shortcut[1], nn.AvgPool2d)


def test_resnet_serves_28x28_from_7x7():
    """At 28x28 the ResNet G starts from 7x7 with two up blocks."""
    G, D = sngan.build_sngan_resnet(MNIST, **TINY_RESNET)
    assert G.bottom == 7 and len(G.blocks) == 2
    assert D(G(torch.randn(3, 8))).shape == (3,)


def test_projection_makes_the_logit_depend_on_the_label():
    """With labelled data the standard CNN D scores one image differently under different labels."""
    torch.manual_seed(0)
    _, D = sngan.build_sngan(MNIST, **sngan.build_sngan.tiny_params)
    x = torch.randn(1, *MNIST.shape).repeat(2, 1, 1, 1)
    scores = D(x, torch.tensor([0, 1]))
    assert not torch.isclose(scores[0], scores[1])


def test_unconditional_option_ignores_labels():
    """conditional=False builds an unconditional pair even for labelled data."""
    G, D = sngan.build_sngan(MNIST, conditional=False, **sngan.build_sngan.tiny_params)
    assert G.embed is None and D.embed is None and G.num_classes == 0


@pytest.mark.parametrize(("size", "steps"), [(28, 2), (32, 3), (64, 3), (8, 1), (6, 0)])
def test_upsamplings(size, steps):
    """Feature maps start at 4x4 or more and double at most three times."""
    assert upsamplings(size) == steps


@pytest.mark.parametrize(("build", "spec", "message"), [
    (sngan.build_sngan, DataSpec((2,)), "'sngan' serves square CxHxW images"),
    (sngan.build_sngan_resnet, DataSpec((3, 32, 24)), "'sngan-resnet' serves square CxHxW images"),
    (sngan.build_sngan_resnet, DataSpec((3, 18, 18)), "pools twice, so the image side must be a multiple of 4"),
])
def test_unserved_data_is_a_one_line_error(build, spec, message):
    """Data the network cannot serve is a ConfigError that says what it serves."""
    with pytest.raises(ConfigError, match=message) as info:
        build(spec)
    assert "\n" not in str(info.value)


def test_experiments_use_the_hinge_loss_and_the_papers_optimizer():
    """sngan-mnist: the standard CNN with projection, hinge loss; sngan-cifar10: the ResNet, hinge loss, 5 D updates
    per G update, Adam lr 2e-4 with betas (0, 0.9)."""
    mnist = ENGINE.resolve("sngan-mnist")
    assert (mnist["network"]["name"], mnist["loss"]["name"], mnist["dataset"]["name"]) == ("sngan", "hinge", "mnist")
    cifar = ENGINE.resolve("sngan-cifar10")
    assert (cifar["network"]["name"], cifar["loss"]["name"], cifar["dataset"]["name"]) == \
        ("sngan-resnet", "hinge", "cifar10")
    assert cifar["dataset"]["image_size"] == 0 and cifar["train"]["batch_size"] == 64  # native 32x32
    schedule = cifar["schedule"]
    assert (schedule["name"], schedule["n_critic"], schedule["lr_g"], schedule["lr_d"], list(schedule["betas"])) == \
        ("n-critic", 5, 2e-4, 2e-4, [0.0, 0.9])
