"""The ``code-agreement`` metric: how well a generator's unsupervised categorical code names the classes.

It draws ``ctx.n`` latent inputs (seeded), sets the generator's first categorical code to each
category in turn (category = sample index mod size), asks ganzoo's evaluator which class each
sample shows, and matches categories to classes one-to-one so that most samples agree
(``ganzoo.metrics.assignment``). The share that agrees under that matching is the score; the
matching itself goes into the protocol's ``outcome`` (what this run found, so runs that found
different matchings still compare). InfoGAN (Chen et al. 2016) reports 5% error (95%
agreement) for its 10-way code on MNIST.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch

from ganzoo.metrics.assignment import matched_agreement
from ganzoo.metrics.base import EvalContext, MetricResult
from ganzoo.metrics.features import MetricError
from ganzoo.metrics.registered import evaluator_for, protocol
from ganzoo.samples import draw_latent, latent_codes, underlying

BATCH = 500


def categorical_code(G: torch.nn.Module) -> tuple[str, int]:
    """The name and size of G's first categorical latent code; a MetricError when it declares none."""
    for name, size in latent_codes(G).items():
        if size:
            return name, int(size)
    raise MetricError("code agreement needs a generator with a categorical latent code (e.g. network 'infogan'); "
                      "this one declares none")


@contextmanager
def evaluation_mode(G: torch.nn.Module) -> Iterator[None]:
    """G in eval mode without gradients, restored to its mode afterwards."""
    was_training = G.training
    G.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        G.train(was_training)


def generate_with_code(ctx: EvalContext, G: torch.nn.Module, code: str, categories: torch.Tensor) -> torch.Tensor:
    """One sample per entry of ``categories`` (CPU), with G's ``code`` set to it and the rest of the latent
    input drawn from the context's seed."""
    z = draw_latent(G, len(categories), generator=torch.Generator().manual_seed(ctx.seed))
    z = underlying(G).with_code(z, code, categories)
    with evaluation_mode(G):
        return torch.cat([G(z[i : i + BATCH].to(ctx.device)).float().cpu() for i in range(0, len(z), BATCH)])


def code_agreement(ctx: EvalContext) -> MetricResult:
    """Share of samples whose evaluator class is the one their category is matched to (best one-to-one matching)."""
    G = ctx.generator
    if G is None:
        raise MetricError("code agreement needs the generator itself (a run), not samples made elsewhere")
    code, size = categorical_code(G)
    categories = torch.arange(ctx.n) % size
    x = generate_with_code(ctx, G, code, categories)
    ev = evaluator_for(ctx)
    agreement, mapping = matched_agreement(categories, ev.predict(x), size, ev.num_classes)
    extra = {**ev.protocol(), "code": code, "categories": size, "outcome": {"matching": mapping}}
    return MetricResult({"agreement": agreement}, protocol(ctx, "code-agreement", 0, len(x), extra))
