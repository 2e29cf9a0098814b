"""ganzoo plugin ``lecam``: the LeCam regularizer for GANs trained on limited data (Tseng et al. 2021,
"Regularizing Generative Adversarial Networks under Limited Data").

Registers the ``lecam`` loss (the hinge loss plus the LeCam regularizer, whose moving averages are saved in
every checkpoint) and the ``lecam-dcgan-mnist`` experiment, which builds on ganzoo's ``dcgan-mnist`` and trains
it on 1,000 digits with this loss. Torch is imported only when a loss is built, so ``ganzoo --help`` stays fast.
"""

from __future__ import annotations

from ganzoo import hookimpl


def lecam(weight: float = 0.3, decay: float = 0.99):
    """Hinge loss with the LeCam regularizer: ``weight`` is λ, ``decay`` the moving averages' decay per D update."""
    from ganzoo.errors import ConfigError
    from ganzoo_lecam.loss import LeCamHinge

    try:
        return LeCamHinge(weight, decay)
    except ValueError as exc:
        raise ConfigError(f"loss 'lecam': {exc}") from None


lecam.example_params = [{"weight": 1.0, "decay": 0.9}]


@hookimpl
def ganzoo_losses(register):
    """The LeCam-regularized hinge loss."""
    register("lecam", lecam, "hinge loss + LeCam regularizer for limited data (Tseng et al. 2021)")


@hookimpl
def ganzoo_experiments(register):
    """ganzoo's DCGAN on 1,000 MNIST digits with the LeCam-regularized hinge loss."""
    description = "DCGAN on 1,000 MNIST digits with the LeCam-regularized hinge loss (Tseng et al. 2021)"
    register("lecam-dcgan-mnist", {
        "extends": "dcgan-mnist",
        "description": description,
        "dataset": {"name": "mnist", "limit": 1000},
        "loss": {"name": "lecam", "weight": 0.3, "decay": 0.99},
    }, description)
