"""Built-in plugin ``metrics``: Fréchet distance, KID, PRDC, conditional accuracy, classifier score, the standard FID,
the autoencoder Fréchet distance for any image data, and torchvision-Inception FID.

Each entry imports its implementation on first call, so torch stays out of ``ganzoo list``.
"""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.metrics.base import Metric, Reference, scored_on_real


def fd(ctx):
    """Fréchet distance in the self-trained evaluator's features (Heusel et al. 2017)."""
    from ganzoo.metrics.registered import fd as compute

    return compute(ctx)


def kid(ctx):
    """Kernel distance in evaluator features (Bińkowski et al. 2018)."""
    from ganzoo.metrics.registered import kid_metric

    return kid_metric(ctx)


def prdc(ctx):
    """Precision, recall, density and coverage in evaluator features (Naeem et al. 2020)."""
    from ganzoo.metrics.registered import prdc_metric

    return prdc_metric(ctx)


def conditional_accuracy(ctx):
    """Share of conditional samples the evaluator assigns to the requested class."""
    from ganzoo.metrics.registered import conditional_accuracy_metric

    return conditional_accuracy_metric(ctx)


def classifier_score(ctx):
    """Inception-Score formula on the self-trained classifier (Salimans et al. 2016)."""
    from ganzoo.metrics.registered import classifier_score_metric

    return classifier_score_metric(ctx)


def fid(ctx):
    """The standard FID: TTUR's Inception weights and resize through torch-fidelity (Heusel et al. 2017)."""
    from ganzoo.metrics.registered import fid_metric

    return fid_metric(ctx)


def ae_fd(ctx):
    """Fréchet distance and PRDC in the code of an autoencoder ganzoo trains on the data set itself."""
    from ganzoo.metrics.registered import ae_fd_metric

    return ae_fd_metric(ctx)


def fid_inception(ctx):
    """A Fréchet distance in torchvision's ImageNet Inception-v3 features, from locally present weights; not the
    published FID's network, so not comparable with published numbers (``fid`` is)."""
    from ganzoo.metrics.registered import fid_inception as compute

    return compute(ctx)


def evaluator_test_accuracy(ctx, result):
    """Conditional accuracy's reference: the evaluator's own accuracy on the test split's real digits."""
    return Reference("evaluator test accuracy", {"accuracy": result.protocol["evaluator_test_accuracy"]},
                     result.protocol["evaluator_test_samples"])


@hookimpl
def ganzoo_metrics(register):
    """The image metrics; fd, kid, prdc, conditional-accuracy and classifier-score use the classifier ganzoo trains
    itself, ae-fd the autoencoder it trains itself, fid and fid-inception pretrained Inception networks. Each names
    its reference: the same metric on two disjoint real sets, or the evaluator's test accuracy."""
    register("fd", Metric(fd, kinds=("image",), goals={"fd": "min"}, reference=scored_on_real(fd)),
             "Fréchet distance in self-trained evaluator features (Heusel et al. 2017)")
    register("kid", Metric(kid, kinds=("image",), goals={"kid": "min"}, reference=scored_on_real(kid, "kid")),
             "kernel distance, unbiased polynomial MMD in evaluator features (Bińkowski et al. 2018)")
    register("prdc", Metric(prdc, kinds=("image",), goals={"precision": "max", "recall": "max", "density": "max",
                                                          "coverage": "max"}, reference=scored_on_real(prdc)),
             "precision, recall, density, coverage, k=5 (Naeem et al. 2020)")
    register("conditional-accuracy", Metric(conditional_accuracy, kinds=("image",), conditional=True,
                                            goals={"accuracy": "max"}, reference=evaluator_test_accuracy),
             "share of samples the evaluator assigns to the requested class")
    register("classifier-score", Metric(classifier_score, kinds=("image",), goals={"score": "max"},
                                        reference=scored_on_real(classifier_score, "score", label="real")),
             "Inception-Score formula with the self-trained classifier (Salimans et al. 2016)")
    register("fid", Metric(fid, kinds=("image",), goals={"fid": "min"}, reference=scored_on_real(fid)),
             "standard FID, comparable with published numbers: TTUR's Inception weights and resize via "
             "torch-fidelity (extra 'fid')")
    register("ae-fd", Metric(ae_fd, kinds=("image",), goals={"fd": "min", "precision": "max", "recall": "max",
                                                             "density": "max", "coverage": "max"},
                             reference=scored_on_real(ae_fd)),
             "Fréchet distance + PRDC in a self-trained autoencoder's code; any image data, no labels, offline")
    register("fid-inception", Metric(fid_inception, kinds=("image",), goals={"fid": "min"},
                                     reference=scored_on_real(fid_inception)),
             "Fréchet distance in torchvision's ImageNet Inception-v3 features; NOT comparable with published "
             "FIDs (use 'fid')")
