"""Built-in plugin ``pix2pix``: paired image-to-image translation (Isola, Zhu, Zhou & Efros 2017).

Network ``pix2pix`` (a U-Net generator and a conditional PatchGAN), schedule ``pix2pix`` (adversarial
+ λ·L1) and the experiments ``pix2pix-mnist-edges`` (digit outlines to digits, offline) and
``pix2pix-folder`` (your own pairs: ``--set dataset.path=DIR`` holding A/ and B/).
"""

from __future__ import annotations

from ganzoo import DataSpec, hookimpl
from ganzoo.errors import ConfigError


def check_translation_spec(network: str, spec: DataSpec, minimum: int) -> None:
    """Refuse data that is not image-to-image, or images smaller than ``minimum`` px."""
    if not spec.translation or spec.kind != "image" or len(spec.condition_shape) != 3:
        raise ConfigError(f"network {network!r} translates images and needs image pairs (e.g. dataset mnist-edges, "
                          "folder-pairs, folder-unpaired); this data set has no source images")
    if tuple(spec.condition_shape[1:]) != tuple(spec.shape[1:]):
        raise ConfigError(f"network {network!r} needs sources and targets of one size, got "
                          f"{'x'.join(map(str, spec.condition_shape))} and {'x'.join(map(str, spec.shape))}")
    if min(spec.shape[1:]) < minimum:
        raise ConfigError(f"network {network!r} needs images of at least {minimum}x{minimum}; raise dataset.image_size")


def build_pix2pix(spec: DataSpec, width: int = 64, dropout: float = 0.5, d_width: int = 64, d_layers: int = 1):
    """U-Net generator (``width`` 64: the paper's 64-128-256-512-... encoder, 50% ``dropout`` in the three
    innermost decoder layers) and a conditional PatchGAN with ``d_layers`` stride-2 layers (1: 16x16
    patches, 3: the paper's 70x70)."""
    from ganzoo_plugins.pix2pix_nets import ConditionalPatchDiscriminator, UNetGenerator

    check_translation_spec("pix2pix", spec, 4)
    if width < 1 or d_width < 1 or d_layers < 1 or not 0 <= dropout < 1:
        raise ConfigError(f"network: width, d_width and d_layers must be at least 1 and dropout in [0, 1), got "
                          f"{width}, {d_width}, {d_layers} and {dropout}")
    return UNetGenerator(spec, width, dropout), ConditionalPatchDiscriminator(spec, d_width, d_layers)


build_pix2pix.example_specs = [DataSpec((1, 28, 28), condition_shape=(1, 28, 28)),
                               DataSpec((3, 16, 16), condition_shape=(1, 16, 16))]
build_pix2pix.tiny_params = {"width": 4, "d_width": 4}


def pix2pix_schedule(G, D, loss, spec, l1_weight: float = 100.0, lr_g: float = 2e-4, lr_d: float = 2e-4,
                     betas: tuple = (0.5, 0.999), ema_decay: float = 0.0, lr_decay: float = 1.0):
    """One D update (its loss halved), then one G update on the adversarial loss + ``l1_weight`` x L1 to the target
    (the paper: λ = 100, Adam 2e-4, β = (0.5, 0.999))."""
    from ganzoo_plugins.translation_schedules import Pix2PixSchedule

    return Pix2PixSchedule(G, D, loss, spec, l1_weight=l1_weight, lr_g=lr_g, lr_d=lr_d, betas=betas,
                           ema_decay=ema_decay, lr_decay=lr_decay)


pix2pix_schedule.example_network = ("pix2pix", DataSpec((1, 16, 16), condition_shape=(1, 16, 16)))

#: The experiments this plugin ships (registry.yaml's form).
EXPERIMENTS = {
    "pix2pix-mnist-edges": {
        "description": "pix2pix on MNIST: digit outlines -> digits, U-Net + 16x16 PatchGAN (Isola et al. 2017)",
        "dataset": {"name": "mnist-edges"},
        "network": {"name": "pix2pix", "width": 16, "d_width": 16, "d_layers": 1},
        "loss": {"name": "non-saturating"},
        "schedule": {"name": "pix2pix", "l1_weight": 100.0, "lr_g": 1e-3, "lr_d": 1e-3, "betas": [0.5, 0.999]},
        "train": {"steps": 600, "batch_size": 16, "log_every": 50, "sample_every": 200, "checkpoint_every": 200},
        "eval": {"metrics": ["content-kept", "fd"], "primary": "content-kept.content_kept", "n": 2000},
        "sample": {"n": 16, "nrow": 8},
    },
    "pix2pix-folder": {
        "description": "pix2pix on your own pairs: --set dataset.path=DIR holding A/ (sources) and B/ (targets)",
        "dataset": {"name": "folder-pairs", "image_size": 64},
        "network": {"name": "pix2pix", "width": 64, "d_width": 64, "d_layers": 2},
        "loss": {"name": "non-saturating"},
        "schedule": {"name": "pix2pix", "l1_weight": 100.0, "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999]},
        "train": {"steps": 20000, "batch_size": 4, "log_every": 100, "sample_every": 1000, "checkpoint_every": 1000},
        "sample": {"n": 8, "nrow": 4},
    },
}


@hookimpl
def ganzoo_networks(register):
    """The pix2pix networks."""
    register("pix2pix", build_pix2pix, "U-Net generator + conditional PatchGAN for paired translation "
                                       "(Isola et al. 2017)")


@hookimpl
def ganzoo_schedules(register):
    """The pix2pix iteration."""
    register("pix2pix", pix2pix_schedule, "pix2pix: D update, then G on adversarial + λ·L1 (Isola et al. 2017)")


@hookimpl
def ganzoo_experiments(register):
    """pix2pix on MNIST outlines, and on your own folder of pairs."""
    for name, entry in EXPERIMENTS.items():
        register(name, entry, entry["description"])
