"""Evaluation metrics: the contract (base) and the implementations, each a registered component.

The numeric API is imported on first use, so ``import ganzoo.metrics`` stays free of torch:
frechet_distance, kid, prdc, conditional_accuracy, classifier_score, get_evaluator.
"""

from importlib import import_module

from ganzoo.metrics.base import EvalContext, Metric, MetricResult

_LAZY = {
    "frechet_distance": "ganzoo.metrics.frechet",
    "kid": "ganzoo.metrics.kid",
    "prdc": "ganzoo.metrics.prdc",
    "conditional_accuracy": "ganzoo.metrics.classifier",
    "classifier_score": "ganzoo.metrics.classifier",
    "get_evaluator": "ganzoo.metrics.evaluator",
    "Evaluator": "ganzoo.metrics.evaluator",
}

__all__ = ["EvalContext", "Metric", "MetricResult", *_LAZY]


def __getattr__(name: str):
    """Import the numeric API lazily (PEP 562)."""
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ganzoo.metrics' has no attribute {name!r}")
