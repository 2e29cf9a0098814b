"""Built-in plugin ``dcgan``: DCGAN (Radford et al. 2015) at 28x28, 32x32 and 64x64, and a conditional 28x28 DCGAN;
the 28x28 unconditional one optionally packs its discriminator's input (PacGAN, Lin et al. 2018)."""

from __future__ import annotations

from ganzoo import DataSpec, hookimpl
from ganzoo.errors import ConfigError


def check_image_size(network: str, spec: DataSpec, size: int, other: str) -> None:
    """Refuse data that is not CxSIZExSIZE images, naming the sizes this network and ``other`` serve."""
    if spec.kind != "image" or tuple(spec.shape[1:]) != (size, size):
        got = "x".join(str(s) for s in spec.shape)
        raise ConfigError(
            f"network {network!r} serves Cx{size}x{size} images, got data of shape {got}; "
            f"use {other}, or resize with --set dataset.image_size={size}"
        )


def check_labelled(network: str, spec: DataSpec, unconditional: str) -> None:
    """Refuse unlabelled data for a conditional network."""
    if not spec.conditional:
        raise ConfigError(f"network {network!r} is conditional and needs labelled data, but this data set has "
                          f"no classes; use {unconditional!r} for unlabelled data")


LAYOUTS = ("paper", "tutorial", "deep")


def build_28(spec: DataSpec, layout: str, latent_dim: int, width: int, dropout: float,
             num_classes: int = 0, embed_dim: int = 0, pack: int = 1, minibatch_std: int = 0):
    """G and D of a 28x28 DCGAN in one of LAYOUTS, with ``dropout`` after each of D's hidden layers, D judging
    packs of ``pack`` samples (PacGAN) and, in the deep layout, a minibatch standard deviation channel over
    groups of ``minibatch_std`` packs (0: none)."""
    from ganzoo_plugins import dcgan_nets as nets

    if pack < 1:
        raise ConfigError(f"network.pack must be at least 1 (samples per discriminator decision), got {pack}")
    if minibatch_std < 0 or (minibatch_std and layout != "deep"):
        raise ConfigError(f"network.minibatch_std (a group size, 0 for none) must be >= 0 and needs "
                          f"network.layout=deep, got {minibatch_std} with layout {layout!r}")
    layouts = {"paper": (nets.DCGAN28PaperGenerator, nets.DCGAN28PaperDiscriminator),
               "tutorial": (nets.DCGAN28Generator, nets.DCGAN28Discriminator),
               "deep": (nets.DCGAN28DeepGenerator, nets.DCGAN28DeepDiscriminator)}
    if layout not in layouts:
        raise ConfigError(f"network.layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    generator, discriminator = layouts[layout]
    extra = {"minibatch_std": minibatch_std} if minibatch_std else {}
    return (generator(spec, latent_dim, width, num_classes, embed_dim),
            discriminator(spec, width, dropout, num_classes, pack, **extra))


def build_dcgan(spec: DataSpec, latent_dim: int = 100, width: int = 64, layout: str = "tutorial",
                dropout: float = 0.3, pack: int = 1, minibatch_std: int = 0):
    """A 28x28 DCGAN: layout 'tutorial' (the reference tutorial's G: 256-128-64 channels, 5x5 kernels),
    'paper' (the paper's rules at 28x28: G 128-64 channels, 4x4 kernels, BatchNorm in D) or 'deep' (the
    Stacked MNIST protocol's DCGAN: four 5x5 stride-2 layers each way, 8w-4w-2w-w channels); ``pack`` > 1
    makes D judge that many samples at once, concatenated along the channels (PacGAN, Lin et al. 2018);
    ``minibatch_std`` = g > 0 gives the deep layout's D a minibatch standard deviation channel over groups of
    g (Karras et al. 2018)."""
    check_image_size("dcgan", spec, 28, "'dcgan64' for 64x64 images")
    return build_28(spec, layout, latent_dim, width, dropout, pack=pack, minibatch_std=minibatch_std)


def build_cdcgan(spec: DataSpec, latent_dim: int = 100, embed_dim: int = 50, width: int = 64,
                 layout: str = "tutorial", dropout: float = 0.3):
    """The 28x28 DCGAN conditioned on class labels: an embedded label vector into G, a label map into D."""
    check_image_size("cdcgan", spec, 28, "another network")
    check_labelled("cdcgan", spec, "dcgan")
    return build_28(spec, layout, latent_dim, width, dropout, spec.num_classes, embed_dim)


def build_dcgan64(spec: DataSpec, latent_dim: int = 100, g_width: int = 64, d_width: int = 64):
    """The paper's 64x64 DCGAN (G: 512-256-128-64 channels at g_width 64; D mirrors it)."""
    from ganzoo_plugins.dcgan_nets import DCGANDiscriminator, DCGANGenerator

    check_image_size("dcgan64", spec, 64, "'dcgan32' for 32x32 images, 'dcgan' for 28x28")
    return DCGANGenerator(spec, latent_dim, g_width), DCGANDiscriminator(spec, d_width)


def build_dcgan32(spec: DataSpec, latent_dim: int = 100, g_width: int = 64, d_width: int = 64):
    """The paper's DCGAN one doubling shorter, for 32x32 images (G: 256-128-64 channels at g_width 64; D mirrors
    it), as DCGANs are run on CIFAR-10 at its native size."""
    from ganzoo_plugins.dcgan_nets import DCGANDiscriminator, DCGANGenerator

    check_image_size("dcgan32", spec, 32, "'dcgan64' for 64x64 images, 'dcgan' for 28x28")
    return DCGANGenerator(spec, latent_dim, g_width), DCGANDiscriminator(spec, d_width)


build_dcgan.example_specs = [DataSpec((1, 28, 28)), DataSpec((1, 28, 28), 10), DataSpec((3, 28, 28))]
build_dcgan.tiny_params = {"latent_dim": 8, "width": 4}
build_cdcgan.example_specs = [DataSpec((1, 28, 28), 10), DataSpec((3, 28, 28), 4)]
build_cdcgan.tiny_params = {"latent_dim": 8, "embed_dim": 4, "width": 4}
build_dcgan64.example_specs = [DataSpec((3, 64, 64)), DataSpec((1, 64, 64), 10)]
build_dcgan64.tiny_params = {"latent_dim": 8, "g_width": 4, "d_width": 4}
build_dcgan32.example_specs = [DataSpec((3, 32, 32)), DataSpec((1, 32, 32), 10)]
build_dcgan32.tiny_params = {"latent_dim": 8, "g_width": 4, "d_width": 4}


@hookimpl
def ganzoo_networks(register):
    """The DCGAN family."""
    register("dcgan", build_dcgan, "DCGAN for 28x28 images, reference-tutorial, paper or Stacked-MNIST (deep) "
                                   "layout, optionally packed D (Radford et al. 2015; Lin et al. 2018)")
    register("cdcgan", build_cdcgan, "conditional 28x28 DCGAN: label vector into G, label map into D "
                                     "(Radford et al. 2015; Mirza & Osindero 2014)")
    register("dcgan64", build_dcgan64, "the paper's 64x64 DCGAN for 1- or 3-channel images (Radford et al. 2015)")
    register("dcgan32", build_dcgan32, "the paper's DCGAN one doubling shorter, for 32x32 images such as CIFAR-10 "
                                       "(Radford et al. 2015)")
