"""Built-in plugin ``mlp``: the MLP GAN of Goodfellow et al. 2014, sized from the DataSpec."""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.errors import ConfigError


def build_mlp(spec, latent_dim: int = 64, hidden: int = 256, depth: int = 3, batchnorm: bool = False,
              d_hidden: int = 256, d_depth: int = 3, dropout: float = 0.0, pack: int = 1, latent: str = "normal",
              components: int = 25):
    """MLP generator and discriminator for points, images or video (flattened); ``pack`` > 1 packs D's input (PacGAN);
    ``latent`` is G's noise: ``normal`` (N(0, I)), ``uniform`` (U(-1, 1), as in Goodfellow et al. 2014) or
    ``mixture`` (DeLiGAN's mixture of ``components`` Gaussians with learnt means and deviations)."""
    from ganzoo_plugins.mlp_nets import (MixtureLatentMLPGenerator, MLPDiscriminator, MLPGenerator,
                                         UniformLatentMLPGenerator)

    generators = {"normal": MLPGenerator, "uniform": UniformLatentMLPGenerator, "mixture": MixtureLatentMLPGenerator}
    if latent not in generators:
        raise ConfigError(f"network.latent must be one of {', '.join(generators)}, got {latent!r}")
    options = {"components": components} if latent == "mixture" else {}
    if components < 1:
        raise ConfigError(f"network.components must be at least 1, got {components}")
    return (generators[latent](spec, latent_dim, hidden, depth, batchnorm, **options),
            MLPDiscriminator(spec, d_hidden, d_depth, dropout, pack))


@hookimpl
def ganzoo_networks(register):
    """The MLP family."""
    register("mlp", build_mlp, "MLP generator/discriminator (Goodfellow et al. 2014)")
