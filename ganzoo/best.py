"""Which evaluation is best: the primary metric (``eval.primary``) and its goal, max or min."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ganzoo.errors import ConfigError


@dataclass
class BestTracker:
    """Remembers the best value of one metric output; ``goal`` is "max" or "min"."""

    key: str
    goal: str
    value: float | None = None
    step: int | None = None

    def improves(self, flat: dict[str, Any]) -> bool:
        """True when ``flat`` ({"metric.output": value}) holds a finite value better than the best so far."""
        value = flat.get(self.key)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        if self.value is None:
            return True
        return value > self.value if self.goal == "max" else value < self.value

    def update(self, flat: dict[str, Any], step: int) -> bool:
        """Record ``flat`` if it improves on the best; returns whether it did."""
        if not self.improves(flat):
            return False
        self.value, self.step = float(flat[self.key]), step
        return True

    def state_dict(self) -> dict:
        """Plain form for checkpoints."""
        return {"key": self.key, "goal": self.goal, "value": self.value, "step": self.step}

    def load_state_dict(self, state: dict) -> None:
        """Continue from a saved best."""
        if state.get("key") == self.key and state.get("goal") == self.goal:
            self.value, self.step = state.get("value"), state.get("step")


def best_tracker(engine: Any, config: dict) -> BestTracker | None:
    """The tracker for ``eval.primary`` (None without one); an output without a goal is a config error."""
    primary = config["eval"]["primary"]
    if primary is None:
        return None
    metric_name, _, output = primary.partition(".")
    goals = engine.metric(metric_name).goals
    if not output and len(goals) == 1:
        output = next(iter(goals))
    if output not in goals:
        choices = ", ".join(f"{metric_name}.{k}" for k in goals) or "none: this metric declares no goals"
        raise ConfigError(f"eval.primary {primary!r} names no output with a goal (max/min); choose one of {choices}")
    return BestTracker(f"{metric_name}.{output}", goals[output])
