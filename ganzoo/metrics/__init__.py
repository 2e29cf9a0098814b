"""Evaluation metrics: the contract (base) and the implementations, each a registered component."""

from ganzoo.metrics.base import EvalContext, Metric, MetricResult

__all__ = ["EvalContext", "Metric", "MetricResult"]
