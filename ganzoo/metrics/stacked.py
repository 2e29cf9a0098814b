"""Mode coverage on Stacked MNIST (1,000 modes), after the protocol of VEEGAN and PacGAN.

Each channel of a generated 3x28x28 sample is classified by ganzoo's self-trained MNIST
evaluator; the three predicted digits make the sample's mode, d_R·100 + d_G·10 + d_B. As in
PacGAN (Lin et al. 2018, Table 2; VEEGAN, Srivastava et al. 2017, Table 2) the metric reports

- ``modes``: how many of the 1,000 modes hold at least one of the n samples (every sample counts,
  by its most likely digits, as in both papers);
- ``kl``: KL(p || u) = sum over modes of p·log(p/u), p the generated mode histogram and u the uniform
  one (1/1000): the direction of PacGAN's evaluation code, where an empty mode adds nothing and a
  collapsed generator scores up to log 1000 = 6.9;
- ``confident``: the share of samples whose three channels the evaluator each classifies with a
  softmax probability of at least ``CONFIDENCE`` (0.9): a sharpness figure the papers lack, which
  tells a clean digit from a smear that only lands in some mode;
- where the KL comes from, since the uniform histogram is the product of three uniform digits:
  ``kl = kl_channels + dependence`` exactly. ``kl_channels`` sums, over R, G and B, the KL of the
  channel's digit histogram to uniform (some digits drawn more often than others);
  ``dependence`` is the KL of the mode histogram to the product of its three channel histograms
  (the total correlation: some digit triples drawn more or less often than their digits alone
  say). Sampling alone leaves about 27/(2n) in the first and 972/(2n) in the second (0.0005 and
  0.019 at 26,000).

Its reference (``real_reference``) scores real Stacked MNIST of the evaluation split the same way:
n real samples cover fewer than 1,000 modes and have a KL above 0 from sampling alone (about
999/(2n), 0.019 at 26,000) and from the evaluator's errors, so they are the floor a generator
can reach, not 1,000 and 0. It adds the evaluator's accuracy on each channel and on whole modes,
from the digits the real images were stacked from.
"""

from __future__ import annotations

import torch

from ganzoo.metrics.base import EvalContext, MetricResult, Reference
from ganzoo.metrics.evaluator import Evaluator, get_evaluator
from ganzoo.metrics.features import MetricError
from ganzoo.metrics.modes import kl_divergence
from ganzoo.metrics.registered import protocol

MODES = 1000
CHANNELS = ("r", "g", "b")
#: The softmax probability each channel's digit needs for a sample to count as confident.
CONFIDENCE = 0.9
#: Each channel is judged by the evaluator of single MNIST digits.
EVALUATOR_DATASET = {"name": "mnist"}


def digit_evaluator(ctx: EvalContext) -> Evaluator:
    """The self-trained MNIST evaluator (cached after the first use)."""
    return get_evaluator(EVALUATOR_DATASET, ctx.data_root, ctx.device, cache_dir=ctx.cache_dir)


def classify_channels(evaluator: Evaluator, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The predicted digit (N, 3) int64 and its softmax probability (N, 3) of each channel of (N, 3, H, W) images."""
    n = x.shape[0]
    probs = evaluator.logits(x.reshape(n * 3, 1, *x.shape[2:])).softmax(dim=1)
    confidence, digits = probs.max(dim=1)
    return digits.view(n, 3), confidence.view(n, 3)


def mode_of(digits: torch.Tensor) -> torch.Tensor:
    """The mode index d_R·100 + d_G·10 + d_B of each row of (N, 3) digits."""
    return digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]


def mode_statistics(digits: torch.Tensor, confidence: torch.Tensor, threshold: float = CONFIDENCE) -> dict[str, float]:
    """Modes covered, KL(mode histogram || uniform), its two parts (the channels' digit balance and the
    dependence between channels) and the share of samples confident in all three channels."""
    counts = torch.bincount(mode_of(digits), minlength=MODES).double()
    p = (counts / counts.sum()).view(10, 10, 10)
    marginals = [p.sum(dim=tuple(j for j in range(3) if j != i)) for i in range(3)]
    independent = marginals[0][:, None, None] * marginals[1][None, :, None] * marginals[2][None, None, :]
    values = {"modes": float((p > 0).sum()), "kl": kl_divergence(p, torch.full_like(p, 1 / MODES))}
    values["kl_channels"] = sum(kl_divergence(m, torch.full_like(m, 0.1)) for m in marginals)
    values["dependence"] = kl_divergence(p, independent)
    values["confident"] = float((confidence >= threshold).all(dim=1).double().mean())
    return values


def _protocol(ctx: EvalContext, evaluator: Evaluator, real_n: int, fake_n: int) -> dict:
    return protocol(ctx, "stacked-modes", real_n, fake_n,
                    {**evaluator.protocol(), "modes_total": MODES, "confidence_threshold": CONFIDENCE,
                     "kl": "KL(generated || uniform)"})


def check_stacked(ctx: EvalContext) -> None:
    """Refuse data that is not Stacked MNIST (its real samples carry the digits they were stacked from)."""
    if "digits" not in ctx.real.extras or tuple(ctx.spec.shape) != (3, 28, 28):
        raise MetricError("metric 'stacked-modes' needs Stacked MNIST as its data set (dataset: stacked-mnist)")


def stacked_modes_metric(ctx: EvalContext) -> MetricResult:
    """Modes covered, KL to uniform and confident share of ``ctx.n`` generated samples."""
    check_stacked(ctx)
    evaluator = digit_evaluator(ctx)
    fake, _ = ctx.fake()
    digits, confidence = classify_channels(evaluator, fake)
    return MetricResult(mode_statistics(digits, confidence), _protocol(ctx, evaluator, 0, len(fake)))


def real_reference(ctx: EvalContext, result: MetricResult) -> Reference:
    """The metric on ``ctx.n`` real samples of the evaluation split (the floor), and the evaluator's accuracy on
    each channel and on whole modes against the digits they were stacked from."""
    check_stacked(ctx)
    real = ctx.real_subset()
    evaluator = digit_evaluator(ctx)
    digits, confidence = classify_channels(evaluator, real.x)
    truth = real.extras["digits"]
    right = digits == truth
    values = mode_statistics(digits, confidence)
    values.update({f"accuracy_{c}": float(right[:, i].double().mean()) for i, c in enumerate(CHANNELS)})
    values["mode_accuracy"] = float(right.all(dim=1).double().mean())
    return Reference("real stacked digits, same evaluator", values, len(real))
