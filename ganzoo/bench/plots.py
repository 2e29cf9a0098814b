"""The suite's PNGs (matplotlib): metric vs training time, final metrics as bars, final samples side by side."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

from ganzoo.bench.results import Group, groups, ok_runs, references_for, shown_outputs

CURVES, BARS, SAMPLES = "curves.png", "final_metrics.png", "samples.png"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def panels(data: dict) -> list[tuple[Group, str, str]]:
    """(group, output, title) for every output with a goal; the data set is named when a metric has several."""
    found = groups(data)
    shown = []
    for group in found:
        several = sum(g.metric == group.metric for g in found) > 1
        for output in shown_outputs(data, group.metric, list(group.outputs)):
            title = f"{group.metric}.{output}" + (f" ({group.dataset})" if several else "")
            shown.append((group, output, title))
    return shown


def _grid(plt, count: int, width: float = 4.6, height: float = 3.4):
    cols = min(count, 3)
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return fig, list(axes.flat)


def mean_curve(records: list[dict], key: str) -> tuple[list[float], list[float], list[float]]:
    """(mean training seconds, mean value, std of value) at the evaluation steps every seed reached."""
    by_seed = [{p["step"]: p for p in r["curve"] if key in p["values"]} for r in records]
    steps = sorted(set.intersection(*(set(s) for s in by_seed))) if by_seed else []
    xs, ys, bands = [], [], []
    for step in steps:
        values = [seed[step]["values"][key] for seed in by_seed]
        if not all(math.isfinite(v) for v in values):
            continue
        xs.append(statistics.fmean(seed[step]["train_time_s"] for seed in by_seed))
        ys.append(statistics.fmean(values))
        bands.append(statistics.stdev(values) if len(values) > 1 else 0.0)
    return xs, ys, bands


def variant_colors(data: dict) -> dict[str, str]:
    """One matplotlib colour per variant, in suite order, so a variant keeps its colour in every panel."""
    order = dict.fromkeys([*(data["suite"].get("variants") or {}), *(r["variant"] for r in data["runs"])])
    return {variant: f"C{i % 10}" for i, variant in enumerate(order)}


def curves_figure(data: dict):
    """The curves figure (see ``plot_curves``), or None when no variant has a point to draw: one legend for the
    figure, naming every variant drawn in any panel, each in the one colour it has in all panels."""
    shown = panels(data)
    records = ok_runs(data)
    curves = {(group.metric, output, variant): mean_curve([r for r in records if r["variant"] == variant],
                                                           f"{group.metric}.{output}")
              for group, output, _ in shown for variant in group.variants}
    if not any(xs for xs, _, _ in curves.values()):
        return None
    plt = _pyplot()
    colors = variant_colors(data)
    fig, axes = _grid(plt, len(shown))
    handles = {}
    for ax, (group, output, title) in zip(axes, shown):
        for variant in group.variants:
            xs, ys, bands = curves[group.metric, output, variant]
            if not xs:
                continue
            line, = ax.plot(xs, ys, marker="o", markersize=3, label=variant, color=colors[variant])
            ax.fill_between(xs, [y - b for y, b in zip(ys, bands)], [y + b for y, b in zip(ys, bands)],
                            color=colors[variant], alpha=0.2)
            handles.setdefault(variant, line)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("training time (s)")
        ax.grid(alpha=0.3)
    drawn = [v for v in colors if v in handles]
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.legend([handles[v] for v in drawn], drawn, loc="upper center", ncol=min(len(drawn), 6), fontsize=8,
               frameon=False)
    return fig


def plot_curves(data: dict, path: Path) -> Path | None:
    """Each metric output against training time, a line per variant (mean over seeds, band of ± one std);
    None where no variant has an evaluation step all its seeds reached (runs a time budget stopped at
    different steps, evaluated only at the end), rather than a figure of empty axes."""
    fig = curves_figure(data)
    if fig is None:
        return None
    fig.savefig(path, dpi=100)
    _pyplot().close(fig)
    return path


def plot_bars(data: dict, path: Path) -> Path | None:
    """Final metric outputs per variant: mean over seeds with ± one std, references as dashed lines."""
    shown = panels(data)
    if not shown:
        return None
    plt = _pyplot()
    fig, axes = _grid(plt, len(shown))
    for ax, (group, output, title) in zip(axes, shown):
        cells = group.outputs[output]
        names = list(cells)
        ax.bar(range(len(names)), [c.mean for c in cells.values()], yerr=[c.std or 0.0 for c in cells.values()],
               capsize=3, color="#4c72b0")
        ax.set_xticks(range(len(names)), names, rotation=35, ha="right", fontsize=7)
        for ref in references_for(data, group):
            if output in ref["values"]:
                ax.axhline(ref["values"][output], ls="--", color="#c44e52", lw=1)
                ax.annotate(ref["label"], (0, ref["values"][output]), fontsize=6, color="#c44e52",
                            xytext=(0, 2), textcoords="offset points")
        ax.set_title(title, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_samples(data: dict, out: Path, path: Path) -> Path | None:
    """The final sample grid of each variant (its first seed that finished), side by side."""
    chosen: dict[str, Path] = {}
    for record in sorted(ok_runs(data), key=lambda r: r["seed"]):
        image = Path(out) / record.get("samples", "")
        if record["variant"] not in chosen and image.is_file() and image.suffix == ".png":
            chosen[record["variant"]] = image
    if not chosen:
        return None
    plt = _pyplot()
    fig, axes = _grid(plt, len(chosen), width=3.4, height=3.6)
    for ax, (variant, image) in zip(axes, chosen.items()):
        ax.imshow(plt.imread(image))
        ax.set_title(variant, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_plots(data: dict, out: Path) -> list[Path]:
    """Write every plot into ``out``; returns the files written."""
    out = Path(out)
    made = [plot_curves(data, out / CURVES), plot_bars(data, out / BARS), plot_samples(data, out, out / SAMPLES)]
    return [p for p in made if p is not None]
