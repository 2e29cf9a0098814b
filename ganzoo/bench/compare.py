"""Comparing two results.json files: per variant and metric output, the means, their difference, and whether
it exceeds the spread over seeds (the ± one std bands of the two do not overlap)."""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo.bench.results import comparable_protocol, ok_runs, shown_outputs, summarize


@dataclass
class Row:
    """One variant's metric output in both result sets."""

    variant: str
    key: str
    mean_a: float
    mean_b: float
    spread: float | None  # std_a + std_b; None when either side has a single seed
    comparable: bool  # both measured under the same protocol
    goal: str | None

    @property
    def difference(self) -> float:
        """B minus A."""
        return self.mean_b - self.mean_a

    @property
    def exceeds(self) -> bool | None:
        """True when |B - A| is larger than the seed spread; None when it cannot be told."""
        if not self.comparable or self.spread is None:
            return None
        return abs(self.difference) > self.spread

    @property
    def verdict(self) -> str:
        """A word for the table: better / worse / changed (goal-less), within noise, or why it cannot be told."""
        if not self.comparable:
            return "protocol differs"
        if self.exceeds is None:
            return "one seed: no spread"
        if not self.exceeds:
            return "within seed spread"
        if self.goal in ("max", "min"):
            better = self.difference > 0 if self.goal == "max" else self.difference < 0
            return "better" if better else "worse"
        return "changed"


def _protocols(data: dict) -> dict[tuple[str, str], list[dict]]:
    """{(variant, metric): the distinct protocols its finished runs were measured under}."""
    found: dict[tuple[str, str], list[dict]] = {}
    for record in ok_runs(data):
        for metric, result in record["metrics"].items():
            protocol = comparable_protocol(result["protocol"])
            if protocol not in found.setdefault((record["variant"], metric), []):
                found[(record["variant"], metric)].append(protocol)
    return found


def compare(a: dict, b: dict) -> list[Row]:
    """Rows for every variant and metric output present in both result sets (B measured against A)."""
    table_a, table_b = summarize(a), summarize(b)
    proto_a, proto_b = _protocols(a), _protocols(b)
    goals = {**(a["suite"].get("goals") or {}), **(b["suite"].get("goals") or {})}
    rows = []
    for metric, outputs in table_a.items():
        if metric not in table_b:
            continue
        for output in shown_outputs(a, metric, [o for o in outputs if o in table_b[metric]]):
            for variant, cell_a in outputs[output].items():
                cell_b = table_b[metric][output].get(variant)
                if cell_b is None:
                    continue
                found = proto_a[(variant, metric)]
                same = len(found) == 1 and found == proto_b[(variant, metric)]
                spread = cell_a.std + cell_b.std if cell_a.std is not None and cell_b.std is not None else None
                rows.append(Row(variant, f"{metric}.{output}", cell_a.mean, cell_b.mean, spread, same,
                                (goals.get(metric) or {}).get(output)))
    return rows
