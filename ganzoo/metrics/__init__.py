"""Evaluation metrics: the contract (base) and the implementations, each a registered component.

The numeric API: frechet_distance, kid, prdc, conditional_accuracy, classifier_score,
get_evaluator, get_autoencoder. ``import ganzoo.metrics`` stays free of torch: kid and prdc import it when
called (they are imported here, so the names are the functions, not their modules); the
rest load on first use.
"""

from importlib import import_module

from ganzoo.metrics.base import EvalContext, Metric, MetricResult, Reference, reported_real, scored_on_real
from ganzoo.metrics.kid import kid
from ganzoo.metrics.prdc import prdc

_LAZY = {
    "frechet_distance": "ganzoo.metrics.frechet",
    "conditional_accuracy": "ganzoo.metrics.classifier",
    "classifier_score": "ganzoo.metrics.classifier",
    "get_evaluator": "ganzoo.metrics.evaluator",
    "get_autoencoder": "ganzoo.metrics.autoencoder",
    "Evaluator": "ganzoo.metrics.evaluator",
}

__all__ = ["EvalContext", "Metric", "MetricResult", "Reference", "kid", "prdc", "reported_real", "scored_on_real",
           *_LAZY]


def __getattr__(name: str):
    """Import the numeric API lazily (PEP 562)."""
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ganzoo.metrics' has no attribute {name!r}")
