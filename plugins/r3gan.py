"""Built-in plugin ``r3gan``: the modern GAN baseline of Huang et al. 2024 ("The GAN is dead; long live the GAN!
A Modern GAN Baseline"). Its loss is the built-in ``rpgan`` with R1 and R2 (``plugins/core.py``)."""

from __future__ import annotations

from ganzoo import DataSpec, hookimpl
from ganzoo.errors import ConfigError


def _check(spec: DataSpec, widths: list[int], blocks: int, expansion: int, group_size: int,
           minibatch_std: int) -> None:
    """Refuse data and sizes the network cannot be built for, in one line naming the parameter to change."""
    from ganzoo_plugins.r3gan_nets import bottom_size

    got = "x".join(str(s) for s in spec.shape)
    if spec.kind != "image" or spec.shape[1] != spec.shape[2]:
        raise ConfigError(f"network 'r3gan' serves square CxHxW images, got data of shape {got}")
    if not widths or any(w < 1 for w in widths):
        raise ConfigError(f"network.widths must list a positive width per resolution, got {widths}")
    if blocks < 1 or expansion < 1 or group_size < 1:
        raise ConfigError(f"network.blocks, network.expansion and network.group_size must be at least 1, got "
                          f"{blocks}, {expansion} and {group_size}")
    if bottom_size(spec.shape[1], len(widths)) < 2:
        raise ConfigError(f"network.widths has {len(widths)} resolutions, but {spec.shape[1]}x{spec.shape[1]} "
                          f"images do not halve {len(widths) - 1} times to a side of 2 or more; list fewer widths")
    if minibatch_std < 0:
        raise ConfigError(f"network.minibatch_std is the group size of D's minibatch standard deviation (0: off), "
                          f"got {minibatch_std}")
    bad = [w for w in widths if (w * expansion) % group_size]
    if bad:
        raise ConfigError(f"network.group_size {group_size} must divide every width x expansion ({expansion}); "
                          f"it does not divide {bad[0] * expansion}")


def build_r3gan(spec: DataSpec, latent_dim: int = 64, widths: tuple = (128, 64, 32), blocks: int = 1,
                expansion: int = 2, group_size: int = 16, conditional: bool = True, minibatch_std: int = 0):
    """R3GAN's generator and discriminator for square images: one stage per entry of ``widths`` (lowest
    resolution first; the image side halves per extra stage), ``blocks`` inverted-bottleneck residual blocks
    per stage widened by ``expansion``, grouped 3x3 convolutions of ``group_size`` channels per group; with
    labelled data and ``conditional``, a label embedding into G and a projection term in D; ``minibatch_std`` > 0
    gives D a minibatch standard deviation channel over groups of that many samples (Karras et al. 2018; 0, the
    paper's choice, leaves it out)."""
    from ganzoo_plugins.r3gan_nets import R3GANDiscriminator, R3GANGenerator

    widths = [int(w) for w in widths]
    _check(spec, widths, blocks, expansion, group_size, minibatch_std)
    classes = spec.num_classes if conditional else 0
    return (R3GANGenerator(spec, latent_dim, widths, blocks, expansion, group_size, classes),
            R3GANDiscriminator(spec, widths, blocks, expansion, group_size, classes, minibatch_std))


build_r3gan.example_specs = [DataSpec((1, 28, 28), 10), DataSpec((1, 32, 32)), DataSpec((3, 32, 32), 10)]
build_r3gan.tiny_params = {"latent_dim": 8, "widths": [8, 8], "group_size": 4, "minibatch_std": 4}


@hookimpl
def ganzoo_networks(register):
    """The R3GAN family."""
    register("r3gan", build_r3gan, "modern residual GAN: inverted bottlenecks, grouped convs, no normalization, "
                                   "fix-up init (Huang et al. 2024)")
