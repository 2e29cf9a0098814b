"""The registered evaluation metrics: each reads an EvalContext and returns values with their protocol.

Image metrics compare the evaluator's features (or predictions) of ``ctx.n`` generated
samples with those of ``ctx.n`` real samples of the evaluation split drawn in a seeded order.
"""

from __future__ import annotations

from ganzoo.metrics.base import EvalContext, MetricResult
from ganzoo.metrics.evaluator import Evaluator, get_evaluator
from ganzoo.metrics.features import MetricError


def evaluator_for(ctx: EvalContext) -> Evaluator:
    """The self-trained evaluator of the context's data set (cached after the first use); a data set made from
    another one names that one's in ``Data.info["evaluator"]`` (mnist-edges: ``{"name": "mnist"}``)."""
    dataset = ctx.real.info.get("evaluator", ctx.dataset)
    return get_evaluator(dataset, ctx.data_root, ctx.device, cache_dir=ctx.cache_dir)


def protocol(ctx: EvalContext, name: str, real_n: int, fake_n: int, extractor: dict) -> dict:
    """The protocol block every result carries: what measured it, on what, how many, which seed."""
    from ganzoo import __version__

    return {"name": name, **extractor, "dataset": dict(ctx.dataset), "split": ctx.split, "real_samples": real_n,
            "fake_samples": fake_n, "seed": ctx.seed, "ganzoo_version": __version__}


def _feature_pair(ctx: EvalContext) -> tuple:
    ev = evaluator_for(ctx)
    real = ctx.real_subset().x
    fake, _ = ctx.fake()
    return ev, ev.features(real), ev.features(fake)


def fd(ctx: EvalContext) -> MetricResult:
    """Fréchet distance in evaluator features (Heusel et al. 2017)."""
    from ganzoo.metrics.frechet import frechet_distance

    ev, real, fake = _feature_pair(ctx)
    value = frechet_distance(real, fake)
    return MetricResult({"fd": value}, protocol(ctx, "frechet-distance", len(real), len(fake), ev.protocol()))


def kid_metric(ctx: EvalContext) -> MetricResult:
    """Kernel distance in evaluator features (Bińkowski et al. 2018): 100 subsets of up to 1000."""
    from ganzoo.metrics.kid import kid

    ev, real, fake = _feature_pair(ctx)
    mean, std = kid(real, fake, subsets=100, subset_size=1000, seed=ctx.seed)
    extra = {**ev.protocol(), "subsets": 100, "subset_size": min(1000, len(real), len(fake)), "kernel": "(x.y/d+1)^3"}
    return MetricResult({"kid": mean, "kid_std": std}, protocol(ctx, "kid", len(real), len(fake), extra))


def prdc_metric(ctx: EvalContext) -> MetricResult:
    """Precision, recall, density, coverage in evaluator features (Naeem et al. 2020), k=5."""
    from ganzoo.metrics.prdc import prdc

    ev, real, fake = _feature_pair(ctx)
    values = prdc(real, fake, k=5)
    return MetricResult(values, protocol(ctx, "prdc", len(real), len(fake), {**ev.protocol(), "k": 5}))


def conditional_accuracy_metric(ctx: EvalContext) -> MetricResult:
    """Share of conditional samples the evaluator assigns to the class they were asked for."""
    from ganzoo.metrics.classifier import conditional_accuracy

    fake, labels = ctx.fake()
    if labels is None:
        raise MetricError("conditional accuracy needs a conditional model: these samples were drawn without labels")
    ev = evaluator_for(ctx)
    value = conditional_accuracy(ev.logits(fake), labels)
    return MetricResult({"accuracy": value}, protocol(ctx, "conditional-accuracy", 0, len(fake), ev.protocol()))


def classifier_score_metric(ctx: EvalContext) -> MetricResult:
    """Inception-Score formula with the evaluator as classifier (Salimans et al. 2016), 10 splits."""
    from ganzoo.metrics.classifier import classifier_score

    fake, _ = ctx.fake()
    ev = evaluator_for(ctx)
    mean, std = classifier_score(ev.logits(fake), splits=10)
    return MetricResult({"score": mean, "score_std": std},
                        protocol(ctx, "classifier-score", 0, len(fake), {**ev.protocol(), "splits": 10}))


def fid_inception(ctx: EvalContext) -> MetricResult:
    """FID in torchvision Inception-v3 pool features (Heusel et al. 2017), for RGB data."""
    from ganzoo.metrics.frechet import frechet_distance
    from ganzoo.metrics.inception import inception_features, load_inception, weights_path

    if ctx.spec.channels != 3:
        raise MetricError(f"metric 'fid-inception' needs RGB images, this data has {ctx.spec.channels} channel(s); "
                          "use 'fd' (the self-trained evaluator) instead")
    model, sha = load_inception()
    real = inception_features(model, ctx.real_subset().x, ctx.device)
    fake = inception_features(model, ctx.fake()[0], ctx.device)
    value = frechet_distance(real, fake)
    extractor = {"evaluator": f"torchvision-inception-v3 ({weights_path().name})", "evaluator_sha256": sha,
                 "features": "pool3 (2048)"}
    return MetricResult({"fid": value}, protocol(ctx, "fid-inception", len(real), len(fake), extractor))


def fid_metric(ctx: EvalContext) -> MetricResult:
    """The standard FID (Heusel et al. 2017) with the published protocol's Inception weights and resize, through
    torchmetrics/torch-fidelity (see ``ganzoo.metrics.fid``)."""
    from ganzoo.metrics.fid import fid_protocol, fid_values, load_fid_inception

    if ctx.spec.channels not in (1, 3):
        raise MetricError(f"metric 'fid' needs RGB (or grayscale) images, this data has {ctx.spec.channels} channels; "
                          "use 'ae-fd' instead")
    network, sha = load_fid_inception()
    value, real_n, fake_n = fid_values(ctx, network)
    return MetricResult({"fid": value}, protocol(ctx, "fid", real_n, fake_n, fid_protocol(sha, ctx.spec.channels)))


def ae_fd_metric(ctx: EvalContext) -> MetricResult:
    """Fréchet distance (Heusel et al. 2017) and precision, recall, density, coverage (Naeem et al. 2020, k=5) in
    the code of an autoencoder ganzoo trains on the data set itself (``ganzoo.metrics.autoencoder``)."""
    from ganzoo.metrics.autoencoder import get_autoencoder
    from ganzoo.metrics.frechet import frechet_distance
    from ganzoo.metrics.prdc import prdc

    ae = get_autoencoder(ctx.dataset, ctx.data_root, ctx.device, cache_dir=ctx.cache_dir)
    real, fake = ae.features(ctx.real_subset().x), ae.features(ctx.fake()[0])
    values = {"fd": frechet_distance(real, fake), **prdc(real, fake, k=5)}
    return MetricResult(values, protocol(ctx, "ae-fd", len(real), len(fake), {**ae.protocol(), "k": 5}))
