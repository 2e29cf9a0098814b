"""Built-in plugin ``core``: the losses, the schedules, the modes metric and registry.yaml's experiments."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from ganzoo import hookimpl
from ganzoo.config import load_experiments_file
from ganzoo.metrics.base import Metric, scored_on_real


def minimax():
    """Saturating minimax loss (Goodfellow et al. 2014)."""
    from ganzoo_plugins.losses import Minimax

    return Minimax()


def non_saturating(r1_gamma: float = 0.0, r1_every: int = 1, r2_gamma: float = 0.0):
    """Non-saturating loss (Goodfellow et al. 2014); ``r1_gamma`` > 0 adds the R1 penalty on real data and
    ``r2_gamma`` > 0 the R2 penalty on generated data (Mescheder et al. 2018), on every ``r1_every``-th D update
    (lazy regularization, Karras et al. 2020)."""
    from ganzoo_plugins.losses import NonSaturating

    return NonSaturating(r1_gamma, r1_every, r2_gamma)


non_saturating.example_params = [{"r1_gamma": 1.0}, {"r1_gamma": 1.0, "r1_every": 2}]


def rpgan(r1_gamma: float = 0.0, r1_every: int = 1, r2_gamma: float = 0.0):
    """Relativistic pairing loss (Jolicoeur-Martineau 2018); with ``r1_gamma`` and ``r2_gamma`` > 0, the R3GAN
    loss (Huang et al. 2024). Penalties as for ``non-saturating``."""
    from ganzoo_plugins.losses import RelativisticPairing

    return RelativisticPairing(r1_gamma, r1_every, r2_gamma)


rpgan.example_params = [{"r1_gamma": 1.0, "r2_gamma": 1.0}, {"r2_gamma": 1.0, "r1_every": 2}]


def least_squares():
    """Least-squares loss (Mao et al. 2017)."""
    from ganzoo_plugins.losses import LeastSquares

    return LeastSquares()


def hinge():
    """Hinge loss (Lim & Ye 2017)."""
    from ganzoo_plugins.losses import Hinge

    return Hinge()


def wgan_gp(gp_weight: float = 10.0):
    """Wasserstein loss with gradient penalty (Gulrajani et al. 2017)."""
    from ganzoo_plugins.losses import WassersteinGP

    return WassersteinGP(gp_weight)


def alternating(G, D, loss, spec, lr_g: float = 2e-4, lr_d: float = 2e-4, betas: tuple = (0.5, 0.999),
                ema_decay: float = 0.0, lr_decay: float = 1.0, augment: str = "", g_steps: int = 1,
                top_k: float = 1.0, top_k_decay: float = 0.999):
    """One D update, then ``g_steps`` G updates on the same latent batch (default one); ``lr_decay`` < 1
    decays both learning rates by that factor per step; ``augment`` names DiffAugment policies for D's
    inputs ("color", "translation", "cutout", comma-separated); ``top_k`` < 1 updates G on the fakes D
    scores best only, down to that fraction of the batch (Sinha et al. 2020)."""
    from ganzoo_plugins.schedule import AdversarialSchedule

    return AdversarialSchedule(G, D, loss, spec, n_critic=1, lr_g=lr_g, lr_d=lr_d, betas=betas, ema_decay=ema_decay,
                               lr_decay=lr_decay, augment=augment, g_steps=g_steps, top_k=top_k,
                               top_k_decay=top_k_decay)


def n_critic(G, D, loss, spec, n_critic: int = 5, lr_g: float = 1e-4, lr_d: float = 1e-4,
             betas: tuple = (0.0, 0.9), ema_decay: float = 0.0, lr_decay: float = 1.0, augment: str = ""):
    """k D updates per G update (WGAN-GP style); ``lr_decay`` < 1 decays both learning rates per iteration;
    ``augment`` as for ``alternating``."""
    from ganzoo_plugins.schedule import AdversarialSchedule

    return AdversarialSchedule(G, D, loss, spec, n_critic=n_critic, lr_g=lr_g, lr_d=lr_d, betas=betas,
                               ema_decay=ema_decay, lr_decay=lr_decay, augment=augment)


def registry_file() -> Path:
    """registry.yaml: a resource of this package when installed, the checkout's top-level file in a source tree."""
    packaged = files(__package__).joinpath("registry.yaml")
    return Path(str(packaged)) if packaged.is_file() else Path(__file__).resolve().parent.parent / "registry.yaml"


@hookimpl
def ganzoo_losses(register):
    """The standard adversarial losses."""
    register("minimax", minimax, "saturating minimax game (Goodfellow et al. 2014)")
    register("non-saturating", non_saturating, "non-saturating G loss (Goodfellow et al. 2014)")
    register("least-squares", least_squares, "least-squares GAN (Mao et al. 2017)")
    register("hinge", hinge, "hinge loss (Lim & Ye 2017)")
    register("wgan-gp", wgan_gp, "Wasserstein + gradient penalty (Gulrajani et al. 2017)")
    register("rpgan", rpgan, "relativistic pairing loss, + R1/R2 as in R3GAN (Jolicoeur-Martineau 2018; Huang et al. 2024)")


@hookimpl
def ganzoo_schedules(register):
    """Alternating and n-critic schedules, with per-network learning rates and optional EMA."""
    register("alternating", alternating, "1 D update : 1 G update, per-network lr, optional EMA of G")
    register("n-critic", n_critic, "k D updates : 1 G update, per-network lr, optional EMA of G")


def modes(ctx):
    """PacGAN modes metric (imported lazily: torch stays out of `ganzoo list`)."""
    from ganzoo.metrics.modes import modes_metric

    return modes_metric(ctx)


@hookimpl
def ganzoo_metrics(register):
    """The PacGAN modes metric for 2D mixtures; its reference: the same statistics of real samples."""
    register("modes", Metric(modes, kinds=("points",), goals={"modes": "max", "high_quality": "max",
                                                                      "reverse_kl": "min"},
                             reference=scored_on_real(modes, "modes", "high_quality", "reverse_kl", label="real")),
             "modes covered, high-quality fraction, reverse KL (PacGAN protocol)")


@hookimpl
def ganzoo_experiments(register):
    """The experiments named in registry.yaml."""
    path = registry_file()
    for name, entry in load_experiments_file(path).items():
        register(str(name), entry, str(entry.get("description", "")))
