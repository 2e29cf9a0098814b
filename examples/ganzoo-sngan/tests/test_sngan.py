"""ganzoo-sngan: the conformance suite, plus what makes it SNGAN."""

import pytest
import torch

import ganzoo_sngan
from ganzoo import DataSpec
from ganzoo.errors import ConfigError
from ganzoo.testing import conformance_suite
from ganzoo_sngan.nets import upsamplings

test_conformance = conformance_suite(ganzoo_sngan)

MNIST = DataSpec((1, 28, 28), 10)


def test_every_discriminator_layer_has_unit_spectral_norm():
    """After the power iteration settles, each normalized weight's largest singular value is 1."""
    torch.manual_seed(0)
    _, D = ganzoo_sngan.build_sngan(MNIST, **ganzoo_sngan.build_sngan.tiny_params)
    x, y = torch.randn(4, *MNIST.shape), torch.randint(0, 10, (4,))
    for _ in range(30):
        D(x, y)
    normalized = [m for m in D.modules() if hasattr(m, "parametrizations")]
    assert len(normalized) == 7  # 2 convs per scale x 2 scales, last conv, linear, embedding
    for module in normalized:
        weight = module.weight.detach()
        sigma = torch.linalg.matrix_norm(weight.reshape(weight.shape[0], -1), ord=2)
        assert sigma == pytest.approx(1.0, abs=0.02)


def test_projection_makes_the_logit_depend_on_the_label():
    """With labelled data the discriminator scores one image differently under different labels."""
    torch.manual_seed(0)
    _, D = ganzoo_sngan.build_sngan(MNIST, **ganzoo_sngan.build_sngan.tiny_params)
    x = torch.randn(1, *MNIST.shape).repeat(2, 1, 1, 1)
    scores = D(x, torch.tensor([0, 1]))
    assert not torch.isclose(scores[0], scores[1])


def test_unconditional_option_ignores_labels():
    """conditional=False builds an unconditional pair even for labelled data."""
    G, D = ganzoo_sngan.build_sngan(MNIST, conditional=False, **ganzoo_sngan.build_sngan.tiny_params)
    assert G.embed is None and D.embed is None


@pytest.mark.parametrize(("size", "steps"), [(28, 2), (32, 3), (64, 3), (8, 1), (6, 0)])
def test_upsamplings(size, steps):
    """Feature maps start at 4x4 or more and double at most three times."""
    assert upsamplings(size) == steps


def test_points_are_refused_with_a_clear_error():
    """Non-image data is a ConfigError that says what the network serves."""
    with pytest.raises(ConfigError, match="square CxHxW images"):
        ganzoo_sngan.build_sngan(DataSpec((2,)))


def test_experiment_uses_hinge_loss_and_sngan(ganzoo_register):
    """sngan-mnist resolves to the SNGAN network trained with ganzoo's hinge loss."""
    config = ganzoo_register(ganzoo_sngan).resolve("sngan-mnist")
    assert (config["network"]["name"], config["loss"]["name"], config["dataset"]["name"]) == ("sngan", "hinge", "mnist")
