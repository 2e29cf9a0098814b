"""ganzoo plugin ``sngan``: spectrally normalized GANs (Miyato et al. 2018).

Registers the ``sngan`` network family (a DCGAN-style generator and the SNGAN "standard
CNN" discriminator with spectral normalization on every layer, plus a projection
discriminator for labelled data, Miyato & Koyama 2018) and the ``sngan-mnist`` experiment,
trained with the hinge loss ganzoo already ships (Lim & Ye 2017; used by Miyato et al. 2018).
"""

from __future__ import annotations

from ganzoo import DataSpec, hookimpl


def build_sngan(spec: DataSpec, latent_dim: int = 128, g_channels: int = 64, d_channels: int = 64,
                conditional: bool = True, power_iterations: int = 1):
    """Generator and spectrally normalized discriminator for CxHxW images (H = W, e.g. 28, 32, 64).

    With labelled data and ``conditional`` the generator takes a label embedding and the
    discriminator adds the projection term <embed(y), phi(x)>.
    """
    from ganzoo.errors import ConfigError
    from ganzoo_sngan.nets import SNDiscriminator, SNGenerator, upsamplings

    if spec.kind != "image" or spec.shape[1] != spec.shape[2] or upsamplings(spec.shape[1]) == 0:
        got = "x".join(str(s) for s in spec.shape)
        raise ConfigError(f"network 'sngan' serves square CxHxW images with even H >= 8, got data of shape {got}")
    classes = spec.num_classes if conditional else 0
    return (SNGenerator(spec, latent_dim, g_channels, classes),
            SNDiscriminator(spec, d_channels, classes, power_iterations))


build_sngan.example_specs = [DataSpec((1, 28, 28), 10), DataSpec((3, 32, 32)), DataSpec((3, 64, 64), 5)]
build_sngan.tiny_params = {"latent_dim": 8, "g_channels": 4, "d_channels": 4}


@hookimpl
def ganzoo_networks(register):
    """The SNGAN family."""
    register("sngan", build_sngan, "DCGAN-style G, spectrally normalized CNN D with projection (Miyato et al. 2018)")


@hookimpl
def ganzoo_experiments(register):
    """SNGAN on MNIST with the hinge loss and Adam setting C of Miyato et al. 2018."""
    register("sngan-mnist", {
        "description": "SNGAN with projection D and hinge loss on MNIST (Miyato et al. 2018)",
        "dataset": {"name": "mnist"},
        "network": {"name": "sngan", "latent_dim": 128, "g_channels": 64, "d_channels": 64},
        "loss": "hinge",
        "schedule": {"name": "alternating", "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999]},
        "train": {"steps": 5000, "batch_size": 64, "log_every": 100, "sample_every": 1000,
                  "checkpoint_every": 1000},
        "sample": {"n": 100, "nrow": 10},
    }, "SNGAN with projection D and hinge loss on MNIST (Miyato et al. 2018)")
