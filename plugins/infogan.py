"""Built-in plugin ``infogan``: InfoGAN (Chen et al. 2016) and the ``code-agreement`` metric."""

from __future__ import annotations

from ganzoo import DataSpec, hookimpl
from ganzoo.errors import ConfigError
from ganzoo.metrics.base import Metric, Reference


def build_infogan(spec: DataSpec, noise_dim: int = 62, categorical: tuple = (10,), continuous: int = 2,
                  width: int = 64, hidden: int = 1024, q_hidden: int = 128, categorical_weight: float = 1.0,
                  continuous_weight: float = 0.1, q_rotation: float = 0.0, q_shift: float = 0.0):
    """The paper's MNIST networks: G from noise + codes (``categorical`` sizes, ``continuous`` count), D with a Q
    head on its trunk; the information term weighs categorical codes by ``categorical_weight`` (λ = 1 in the
    paper) and continuous ones by ``continuous_weight``. With ``q_rotation`` (degrees) or ``q_shift`` (pixels),
    Q reads the categorical codes from generated samples rotated and shifted at random by up to that much, so a
    category cannot be carried by slant or position alone (``infogan_nets``). Unsupervised: labels are never
    used."""
    from ganzoo_plugins.infogan_nets import InfoGANDiscriminator, InfoGANGenerator, LatentCodes

    size = spec.shape[1:] if spec.kind == "image" else ()
    if len(size) != 2 or size[0] != size[1] or size[0] % 4:
        got = "x".join(str(s) for s in spec.shape)
        raise ConfigError(f"network 'infogan' serves square images with sides divisible by 4 (28x28, 32x32), "
                          f"got data of shape {got}; resize with --set dataset.image_size=32")
    sizes = [int(k) for k in categorical]
    if any(k < 2 for k in sizes) or continuous < 0 or noise_dim < 0 or not (sizes or continuous):
        raise ConfigError(f"network.categorical must list code sizes >= 2 and network.continuous be >= 0, with at "
                          f"least one code; got categorical={list(categorical)}, continuous={continuous}")
    if categorical_weight < 0 or continuous_weight < 0:
        raise ConfigError("network.categorical_weight and network.continuous_weight must be non-negative")
    if not (0 <= q_rotation <= 180 and 0 <= q_shift < min(size)):
        raise ConfigError(f"network.q_rotation must be 0-180 degrees and network.q_shift 0 to under the image side "
                          f"({size[0]} pixels), got q_rotation={q_rotation}, q_shift={q_shift}")
    layout = LatentCodes(noise_dim, sizes, continuous)
    return (InfoGANGenerator(spec, layout, width, hidden),
            InfoGANDiscriminator(spec, layout, width, hidden, q_hidden, categorical_weight, continuous_weight,
                                 q_rotation, q_shift))


build_infogan.example_specs = [DataSpec((1, 28, 28), 10), DataSpec((3, 32, 32))]
build_infogan.tiny_params = {"noise_dim": 4, "categorical": [3], "continuous": 1, "width": 4, "hidden": 16,
                             "q_hidden": 8, "q_rotation": 15.0, "q_shift": 1.0}


def code_agreement(ctx):
    """Share of samples whose evaluator class matches their categorical code under the best one-to-one matching."""
    from ganzoo_plugins.code_agreement import code_agreement as compute

    return compute(ctx)


def evaluator_test_accuracy(ctx, result):
    """Code agreement's reference: the evaluator's own accuracy on the test split's real digits (its ceiling)."""
    return Reference("evaluator test accuracy", {"agreement": result.protocol["evaluator_test_accuracy"]},
                     result.protocol["evaluator_test_samples"])


@hookimpl
def ganzoo_networks(register):
    """The InfoGAN family."""
    register("infogan", build_infogan, "InfoGAN: categorical and continuous latent codes that a Q head on D "
                                       "recovers, learnt without labels (Chen et al. 2016)")


@hookimpl
def ganzoo_metrics(register):
    """The agreement of an unsupervised categorical code with the evaluator's classes."""
    register("code-agreement", Metric(code_agreement, kinds=("image",), goals={"agreement": "max"},
                                      reference=evaluator_test_accuracy),
             "share of samples whose categorical latent code, best matched to classes, is the evaluator's class")
