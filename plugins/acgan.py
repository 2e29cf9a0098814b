"""Built-in plugin ``acgan``: the auxiliary classifier GAN of Odena, Olah & Shlens 2017."""

from __future__ import annotations

from ganzoo import DataSpec, hookimpl
from ganzoo.errors import ConfigError
from ganzoo_plugins.dcgan import check_labelled


def build_acgan(spec: DataSpec, latent_dim: int = 62, width: int = 64, hidden: int = 1024, class_weight: float = 1.0):
    """A conditional G (one-hot class appended to z) and a D with an adversarial logit and a class head, trained
    with the class cross-entropy on real and generated images (Odena et al. 2017); both trunks are the MNIST
    networks of Chen et al. 2016 (``width`` channels, ``hidden`` dense units)."""
    from ganzoo_plugins.acgan_nets import ACGANDiscriminator, ACGANGenerator

    size = spec.shape[1:] if spec.kind == "image" else ()
    if len(size) != 2 or size[0] != size[1] or size[0] % 4:
        got = "x".join(str(s) for s in spec.shape)
        raise ConfigError(f"network 'acgan' serves square images with sides divisible by 4 (28x28, 32x32), "
                          f"got data of shape {got}; resize with --set dataset.image_size=32")
    check_labelled("acgan", spec, "dcgan")
    if class_weight < 0:
        raise ConfigError(f"network.class_weight must be non-negative, got {class_weight}")
    return ACGANGenerator(spec, latent_dim, width, hidden), ACGANDiscriminator(spec, width, hidden, class_weight)


build_acgan.example_specs = [DataSpec((1, 28, 28), 10), DataSpec((3, 32, 32), 4)]
build_acgan.tiny_params = {"latent_dim": 8, "width": 4, "hidden": 16}


@hookimpl
def ganzoo_networks(register):
    """The ACGAN family."""
    register("acgan", build_acgan, "auxiliary classifier GAN: D predicts the class too, both nets learn from "
                                   "it (Odena et al. 2017)")
