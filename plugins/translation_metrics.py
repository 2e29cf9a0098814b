"""Built-in plugin ``translation_metrics``: ``content-kept``, whether a translation keeps what it translated.

A translation of a digit should still be that digit: the metric translates ``eval.n`` source images
of the evaluation split (``EvalContext.fake_conditions``) and counts the share the self-trained
evaluator assigns to the source's class (``Data.extras["digits"]``). Its reference is the same share
for the real target images of those samples (against ``extras["target_digits"]``): how well the
evaluator reads the target domain at all, the most a translation can be expected to reach. The
Fréchet distance to the target domain is the ``fd`` metric on the same run.
"""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.metrics.base import EvalContext, Metric, MetricResult, reported_real


def content_kept(ctx: EvalContext) -> MetricResult:
    """Share of translated images the evaluator assigns to their source's class, and of the real targets to theirs."""
    from ganzoo.metrics.features import MetricError
    from ganzoo.metrics.registered import evaluator_for, protocol

    fake, _ = ctx.fake()
    conditions = ctx.fake_conditions()
    digits = conditions.extras.get("digits")
    if digits is None:
        raise MetricError(f"metric 'content-kept' needs each source image's class in Data.extras['digits']; data set "
                          f"{ctx.dataset.get('name')!r} has none (mnist-edges and mnist-strokes do)")
    evaluator = evaluator_for(ctx)
    kept = float((evaluator.predict(fake) == digits).double().mean())
    targets = conditions.extras.get("target_digits", digits)
    real = float((evaluator.predict(conditions.x) == targets).double().mean())
    return MetricResult({"content_kept": kept, "real_content_kept": real},
                        protocol(ctx, "content-kept", len(conditions), len(fake), evaluator.protocol()))


@hookimpl
def ganzoo_metrics(register):
    """content-kept, with the real targets' own score as its reference."""
    register("content-kept", Metric(content_kept, kinds=("image",), translation=True, goals={"content_kept": "max"},
                                    reference=reported_real("real targets", content_kept="real_content_kept")),
             "share of translations the evaluator still assigns to the source's class (image-to-image models)")
