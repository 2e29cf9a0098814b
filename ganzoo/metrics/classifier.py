"""Metrics read from an evaluator's class predictions on generated samples.

- Conditional accuracy: the fraction of samples a classifier assigns to the class the
  generator was asked for (the usual check of class-conditional GANs, Mirza & Osindero 2014).
- Classifier score: the Inception Score of Salimans et al. 2016, "Improved Techniques for
  Training GANs", exp(E_x KL(p(y|x) || p(y))), computed with ganzoo's own classifier instead
  of Inception, mean and standard deviation over splits.
"""

from __future__ import annotations

import math

import torch

from ganzoo.metrics.features import MetricError


def conditional_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of samples whose most likely class is the requested label."""
    logits, labels = torch.as_tensor(logits), torch.as_tensor(labels)
    if logits.dim() != 2 or labels.shape != (logits.shape[0],) or len(labels) == 0:
        raise MetricError(f"conditional accuracy needs (N, classes) logits and N labels, got {tuple(logits.shape)} "
                          f"and {tuple(labels.shape)}")
    return float((logits.argmax(dim=1) == labels.to(logits.device)).double().mean())


def classifier_score(logits: torch.Tensor, splits: int = 10) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) || p(y))) per split (Salimans et al. 2016): mean and standard deviation."""
    logits = torch.as_tensor(logits).double()
    if logits.dim() != 2 or len(logits) < splits or splits < 1:
        raise MetricError(f"the classifier score needs (N, classes) logits with N >= splits ({splits}), "
                          f"got shape {tuple(logits.shape)}")
    scores = []
    for part in torch.tensor_split(logits, splits):
        log_p = torch.log_softmax(part, dim=1)
        log_marginal = torch.logsumexp(log_p, dim=0) - math.log(len(part))
        kl = (log_p.exp() * (log_p - log_marginal)).sum(dim=1).mean()
        scores.append(float(kl.exp()))
    mean = sum(scores) / len(scores)
    std = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))
    return mean, std
