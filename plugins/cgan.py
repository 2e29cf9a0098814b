"""Built-in plugin ``cgan``: the conditional MLP GAN of Mirza & Osindero 2014."""

from __future__ import annotations

from ganzoo import DataSpec, hookimpl
from ganzoo.errors import ConfigError


def build_cgan(spec: DataSpec, latent_dim: int = 100, embed_dim: int = 10, g_hidden: tuple = (256, 512, 1024),
               d_hidden: tuple = (512, 512, 512), dropout: float = 0.4, projection: bool = False):
    """Conditional MLP generator and discriminator, each fed a learned label embedding; ``projection`` adds
    the projection discriminator's label term (Miyato & Koyama 2018)."""
    from ganzoo_plugins.cgan_nets import ConditionalMLPDiscriminator, ConditionalMLPGenerator

    if not spec.conditional:
        raise ConfigError("network 'cgan' is conditional and needs labelled data, but this data set has no "
                          "classes; use 'mlp' for unlabelled data")
    if not g_hidden or not d_hidden or any(int(w) < 1 for w in (*g_hidden, *d_hidden)):
        raise ConfigError(f"network.g_hidden and network.d_hidden must list positive widths, got "
                          f"{list(g_hidden)} and {list(d_hidden)}")
    return (ConditionalMLPGenerator(spec, latent_dim, embed_dim, [int(w) for w in g_hidden]),
            ConditionalMLPDiscriminator(spec, embed_dim, [int(w) for w in d_hidden], dropout, projection))


build_cgan.example_specs = [DataSpec((1, 28, 28), 10), DataSpec((2,), 8, (-2.0, 2.0))]
build_cgan.tiny_params = {"latent_dim": 8, "embed_dim": 4, "g_hidden": [16, 16], "d_hidden": [16, 16]}


@hookimpl
def ganzoo_networks(register):
    """The conditional MLP family."""
    register("cgan", build_cgan, "conditional MLP GAN: label embedding into G and D (Mirza & Osindero 2014)")
