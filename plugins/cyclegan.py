"""Built-in plugin ``cyclegan``: unpaired image-to-image translation (Zhu, Park, Isola & Efros 2017).

Network ``cyclegan`` (both ResNet generators in one module, both PatchGANs in another), schedule
``cyclegan`` (adversarial + cycle + identity losses, image history pools) and the experiments
``cyclegan-mnist-strokes`` (thin to thick strokes, offline) and ``cyclegan-folder`` (your own
images: ``--set dataset.path=DIR`` holding A/ and B/).
"""

from __future__ import annotations

from ganzoo import DataSpec, hookimpl
from ganzoo.errors import ConfigError
from ganzoo_plugins.pix2pix import check_translation_spec


def build_cyclegan(spec: DataSpec, width: int = 64, blocks: int = 6, d_width: int = 64, d_layers: int = 1):
    """G_AB and G_BA, ResNet generators with ``blocks`` residual blocks (the paper: width 64, 6 blocks at 128 px),
    and D_A and D_B, PatchGANs with ``d_layers`` stride-2 layers (InstanceNorm); G translates A -> B."""
    from ganzoo_plugins.cyclegan_nets import CycleDiscriminator, CycleGenerator

    check_translation_spec("cyclegan", spec, 8)
    if any(side % 4 for side in spec.shape[1:]):
        raise ConfigError(f"network 'cyclegan' downsamples twice and needs sides divisible by 4, got "
                          f"{'x'.join(map(str, spec.shape[1:]))}; set dataset.image_size")
    if width < 1 or blocks < 0 or d_width < 1 or d_layers < 1:
        raise ConfigError(f"network: width, d_width and d_layers must be at least 1 and blocks 0 or more, got "
                          f"{width}, {d_width}, {d_layers} and {blocks}")
    return CycleGenerator(spec, width, blocks), CycleDiscriminator(spec, d_width, d_layers)


build_cyclegan.example_specs = [DataSpec((1, 28, 28), condition_shape=(1, 28, 28)),
                                DataSpec((3, 16, 16), condition_shape=(3, 16, 16))]
build_cyclegan.tiny_params = {"width": 4, "blocks": 1, "d_width": 4}


def cyclegan_schedule(G, D, loss, spec, cycle_weight: float = 10.0, identity_weight: float = 0.5,
                      pool_size: int = 50, lr_g: float = 2e-4, lr_d: float = 2e-4, betas: tuple = (0.5, 0.999),
                      ema_decay: float = 0.0, lr_decay: float = 1.0):
    """Both generators on adversarial + ``cycle_weight`` (λ = 10) x cycle + ``identity_weight`` x λ x identity
    losses, then both discriminators (loss halved) on a history pool of ``pool_size`` translations (the paper:
    λ = 10, identity 0.5λ, pool 50, Adam 2e-4, β = (0.5, 0.999))."""
    from ganzoo_plugins.translation_schedules import CycleGANSchedule

    return CycleGANSchedule(G, D, loss, spec, cycle_weight=cycle_weight, identity_weight=identity_weight,
                            pool_size=pool_size, lr_g=lr_g, lr_d=lr_d, betas=betas, ema_decay=ema_decay,
                            lr_decay=lr_decay)


cyclegan_schedule.example_network = ("cyclegan", DataSpec((1, 16, 16), condition_shape=(1, 16, 16)))

#: The experiments this plugin ships (registry.yaml's form).
EXPERIMENTS = {
    "cyclegan-mnist-strokes": {
        "description": "CycleGAN on MNIST: thinned -> thickened digits, unpaired, LSGAN (Zhu et al. 2017)",
        "dataset": {"name": "mnist-strokes"},
        "network": {"name": "cyclegan", "width": 8, "blocks": 2, "d_width": 16, "d_layers": 1},
        "loss": {"name": "least-squares"},
        "schedule": {"name": "cyclegan", "cycle_weight": 10.0, "identity_weight": 0.5, "pool_size": 50,
                     "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999]},
        "train": {"steps": 800, "batch_size": 8, "log_every": 50, "sample_every": 200, "checkpoint_every": 200},
        "eval": {"metrics": ["content-kept", "fd"], "primary": "content-kept.content_kept", "n": 2000},
        "sample": {"n": 16, "nrow": 8},
    },
    "cyclegan-folder": {
        "description": "CycleGAN on your own unpaired images: --set dataset.path=DIR holding A/ and B/",
        "dataset": {"name": "folder-unpaired", "image_size": 64},
        "network": {"name": "cyclegan", "width": 64, "blocks": 6, "d_width": 64, "d_layers": 2},
        "loss": {"name": "least-squares"},
        "schedule": {"name": "cyclegan", "cycle_weight": 10.0, "identity_weight": 0.5, "pool_size": 50,
                     "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999]},
        "train": {"steps": 20000, "batch_size": 1, "log_every": 100, "sample_every": 1000, "checkpoint_every": 1000},
        "sample": {"n": 8, "nrow": 4},
    },
}


@hookimpl
def ganzoo_networks(register):
    """The CycleGAN networks."""
    register("cyclegan", build_cyclegan, "two ResNet generators + two PatchGANs for unpaired translation "
                                         "(Zhu et al. 2017)")


@hookimpl
def ganzoo_schedules(register):
    """The CycleGAN iteration."""
    register("cyclegan", cyclegan_schedule, "CycleGAN: both Gs on adversarial + cycle + identity losses, then both "
                                            "Ds on a history pool (Zhu et al. 2017)")


@hookimpl
def ganzoo_experiments(register):
    """CycleGAN on MNIST strokes, and on your own folders."""
    for name, entry in EXPERIMENTS.items():
        register(name, entry, entry["description"])
