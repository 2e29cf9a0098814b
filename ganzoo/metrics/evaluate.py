"""Evaluating a finished run, or samples made elsewhere, under one protocol (``ganzoo eval``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import torch

from ganzoo.engine import Engine
from ganzoo.errors import GanzooError
from ganzoo.lifecycle import echo_stderr
from ganzoo.metrics.base import EvalContext, model_spec
from ganzoo.spec import DataSpec


def check_metrics(engine: Engine, names: list[str], spec: DataSpec) -> None:
    """Every metric must exist and fit the data; otherwise one clear error."""
    if not names:
        raise GanzooError("no metrics to compute; pass --metrics NAME[,NAME] (see 'ganzoo list metrics')")
    for name in names:
        engine.metric(name).check_applies(name, spec)


def compute(engine: Engine, names: list[str], ctx: EvalContext, extra_protocol: dict | None = None) -> dict:
    """{metric: {"values": ..., "protocol": ...}} for each named metric on one context; a metric that declares
    its reference has it in its protocol (``protocol["reference"]``: what real data scores under it)."""
    from ganzoo.metrics.references import cached_reference

    results = {}
    for name in names:
        metric = engine.metric(name)
        result = metric.fn(ctx)
        plain = result.to_dict()
        if metric.reference is not None:
            plain["protocol"]["reference"] = cached_reference(metric, name, ctx, result)
        plain["protocol"].update(extra_protocol or {})
        results[name] = plain
    return results


def installed(engine: Engine, names: list[str], warn: Callable[[str], None]) -> list[str]:
    """The metrics of ``names`` that some installed plugin registers; each missing one is a warning."""
    known = set(engine.registry.names("metrics"))
    for name in names:
        if name not in known:
            warn(f"warning: metric {name!r} of this run is not installed (see 'ganzoo plugins'); "
                 "evaluating without it")
    return [name for name in names if name in known]


def any_length(engine: Engine, names: list[str], explicit: bool, warn: Callable[[str], None]) -> list[str]:
    """The metrics of ``names`` that can score clips longer (or shorter) than training; a ``fixed_length`` one is
    an error where the user named it (``explicit``), else a warning and left out."""
    kept = []
    for name in names:
        if not engine.metric(name).fixed_length:
            kept.append(name)
        elif explicit:
            raise GanzooError(f"metric {name!r} compares clips at the length the run was trained on; "
                              "leave it out of --metrics with --frames")
        else:
            warn(f"warning: metric {name!r} compares clips at the length the run was trained on; "
                 "evaluating without it at --frames")
    return kept


def evaluate_run(engine: Engine, run_dir: Path, names: list[str] | None, n: int | None, seed: int | None,
                 split: str | None, device: torch.device, data_root: Path, cache_dir: Path,
                 checkpoint: str = "last.pt", warn: Callable[[str], None] = echo_stderr,
                 frames: int | None = None) -> dict:
    """Metrics of a run's generator (EMA weights when kept) against its data set's split; ``names`` None: the
    run's eval.metrics that are installed (``warn`` names the others). ``frames``: score clips of that many
    frames (``clip_maker``), leaving out the metrics that need the trained length."""
    from ganzoo.runs import load_run
    from ganzoo.samples import clip_maker, draw_latent

    run = load_run(run_dir, device, engine, checkpoint)
    config = run.config
    seed = config["train"]["seed"] if seed is None else seed
    generator = run.generator
    make = clip_maker(generator, run.spec, frames, seed, device)
    explicit = names is not None
    names = names if explicit else installed(engine, list(config["eval"]["metrics"]), warn)
    if frames is not None:
        names = any_length(engine, names, explicit, warn)
    spec = model_spec(run.spec, generator)
    check_metrics(engine, names, spec)
    split = split or config["eval"]["split"]
    real = engine.load_data(config, split, data_root)

    @torch.no_grad()
    def sample(count: int, labels: torch.Tensor | None, batch: int = 500) -> torch.Tensor:
        out = []
        for i in range(0, count, batch):
            z = draw_latent(generator, min(batch, count - i), device=device)
            lab = labels[i : i + batch].to(device) if labels is not None else None
            out.append(make(z, lab).float().cpu())
        return torch.cat(out)

    ctx = EvalContext(spec=spec, real=real, sample=sample, n=n or config["eval"]["n"], seed=seed, device=device,
                      dataset=config["dataset"], cache_dir=cache_dir, data_root=data_root, split=split,
                      generator=generator)
    return compute(engine, names, ctx, {"run": str(run_dir), "checkpoint": checkpoint, "step": run.step})


def evaluate_samples(engine: Engine, samples: Path, dataset: str, names: list[str], n: int | None, seed: int,
                     split: str, device: torch.device, data_root: Path, cache_dir: Path) -> dict:
    """Metrics of samples from outside ganzoo (labelled ones allow conditional accuracy) against a data set."""
    from ganzoo.metrics.external import SamplesError, load_samples

    if not samples.exists():
        raise SamplesError(f"no samples at {samples}; pass an .npz file or a folder of images")
    block = {"name": engine.registry.get("datasets", dataset).name}
    real = engine.load_data({"dataset": block}, split, data_root)
    x, labels = load_samples(samples, real.spec)
    spec = DataSpec(real.spec.shape, real.spec.num_classes if labels is not None else 0, real.spec.value_range)
    check_metrics(engine, names, spec)
    count = min(n or len(x), len(x))
    fake = (x[:count], labels[:count] if labels is not None else None)

    def no_sampling(count: int, labels: torch.Tensor | None) -> torch.Tensor:
        raise GanzooError("external samples are fixed; ganzoo cannot draw more of them")

    ctx = EvalContext(spec=spec, real=real, sample=no_sampling, n=count, seed=seed, device=device, dataset=block,
                      cache_dir=cache_dir, data_root=data_root, split=split, _fake=fake)
    return compute(engine, names, ctx, {"samples": str(samples)})


def write_results(results: dict, path: Path) -> Path:
    """Write eval.json atomically: the old file or the complete new one, never half of it."""
    from ganzoo.checkpoint import atomic_write_bytes

    atomic_write_bytes((json.dumps(results, indent=2) + "\n").encode("utf-8"), Path(path))
    return Path(path)
