"""Built-in plugin ``sngan``: spectrally normalized GANs (Miyato et al. 2018, "Spectral Normalization for
Generative Adversarial Networks"), the paper's standard CNN (with a projection discriminator for labelled data,
Miyato & Koyama 2018) and its ResNet. Their loss is the built-in ``hinge`` (Lim & Ye 2017, as in the paper)."""

from __future__ import annotations

from ganzoo import DataSpec, hookimpl
from ganzoo.errors import ConfigError


def _check_square(network: str, spec: DataSpec) -> None:
    """Refuse anything but square images whose side halves down to a feature map of 4x4 or more."""
    from ganzoo_plugins.sngan_nets import upsamplings

    if spec.kind != "image" or spec.shape[1] != spec.shape[2] or upsamplings(spec.shape[1]) == 0:
        got = "x".join(str(s) for s in spec.shape)
        raise ConfigError(f"network {network!r} serves square CxHxW images with even H >= 8, got data of shape "
                          f"{got}; resize with --set dataset.image_size=32")


def build_sngan(spec: DataSpec, latent_dim: int = 128, g_channels: int = 64, d_channels: int = 64,
                conditional: bool = True, power_iterations: int = 1):
    """DCGAN-style generator and the paper's spectrally normalized standard-CNN discriminator for square
    CxHxW images (28, 32, 64, ...). With labelled data and ``conditional`` the generator takes a label
    embedding and the discriminator adds the projection term <embed(y), phi(x)>."""
    from ganzoo_plugins.sngan_nets import SNDiscriminator, SNGenerator

    _check_square("sngan", spec)
    classes = spec.num_classes if conditional else 0
    return (SNGenerator(spec, latent_dim, g_channels, classes),
            SNDiscriminator(spec, d_channels, classes, power_iterations))


def build_sngan_resnet(spec: DataSpec, latent_dim: int = 128, g_channels: int = 256, d_channels: int = 128,
                       power_iterations: int = 1):
    """The paper's ResNet for 32x32 images (Appendix B): G from 4x4 through three up ResBlocks of ``g_channels``;
    D an optimized first block, a down block and two plain blocks of ``d_channels``, ReLU, global sum pooling,
    spectral norm on every layer. Unconditional; 28x28 images start G from 7x7 with two up blocks."""
    from ganzoo_plugins.sngan_nets import ResNetDiscriminator, ResNetGenerator

    _check_square("sngan-resnet", spec)
    if spec.shape[1] % 4:
        raise ConfigError(f"network 'sngan-resnet' pools twice, so the image side must be a multiple of 4, got "
                          f"{spec.shape[1]}; resize with --set dataset.image_size=32")
    return ResNetGenerator(spec, latent_dim, g_channels), ResNetDiscriminator(spec, d_channels, power_iterations)


build_sngan.example_specs = [DataSpec((1, 28, 28), 10), DataSpec((3, 32, 32)), DataSpec((3, 64, 64), 5)]
build_sngan.tiny_params = {"latent_dim": 8, "g_channels": 4, "d_channels": 4}
build_sngan_resnet.example_specs = [DataSpec((3, 32, 32)), DataSpec((1, 28, 28), 10)]
build_sngan_resnet.tiny_params = {"latent_dim": 8, "g_channels": 8, "d_channels": 8}


@hookimpl
def ganzoo_networks(register):
    """The SNGAN family."""
    register("sngan", build_sngan, "DCGAN-style G, spectrally normalized standard-CNN D with projection "
                                   "(Miyato et al. 2018)")
    register("sngan-resnet", build_sngan_resnet, "the SNGAN paper's ResNet G and spectrally normalized ResNet D "
                                                 "for 32x32 images (Miyato et al. 2018)")
