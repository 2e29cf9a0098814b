"""Training throughput: ganzoo's own loop against a bare loop and a naive tutorial loop, and the compute roofline.

    uv run python benchmarks/throughput.py [--device D] [--experiments a,b] [--steps N] [--rounds R] [--set K=V]
                                          [--variants "adam=foreach;amp=bf16"] [--eval-n N] [--out FILE.json]

For each experiment, in one process and interleaved round by round (the order rotates), it times:

- ``ganzoo``: the real Trainer and schedule (timed by observer hooks from train start to the last
  log flush, so the loop's log reads and divergence checks count; samples and checkpoints are
  pushed past the measured steps);
- ``bare``: the same networks, loss, optimizer kernel and precision in a hand-written loop over
  tensors on the device that never reads a loss (the engine-overhead reference);
- ``naive``: the common tutorial pattern, a DataLoader over a torchvision-style dataset with
  per-sample transforms, default Adam, fp32 and ``.item()`` on both losses every step;
- ``variant:K=V``: the ganzoo loop with ``train.K=V`` (how the per-device fast-path defaults were chosen);
- the matrix-multiply rate of the device (torch.mm of 2048x2048 in the compute dtype) each round.

It counts FLOPs per training image with FlopCounterMode (roofline fraction = achieved FLOP/s / mm
rate), then times sampling (G forward) and evaluation of ``--eval-n`` samples. Ratios are medians of
per-round ratios. It prints a table and writes JSON (and the same as Markdown beside it) with the
machine described.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from ganzoo import hookimpl
from ganzoo.metrics.base import generator_classes
from reference_loops import Loop, bare_loop, naive_loop, sync

#: Targets of issue 8: ratio -> minimum, and the experiments each applies to (None: all).
TARGETS = {"ganzoo_vs_bare": 0.95, "ganzoo_vs_naive": 1.3, "roofline_fraction": 0.75}
TARGET_EXPERIMENTS = {"ganzoo_vs_bare": None, "ganzoo_vs_naive": ("cgan-mnist",), "roofline_fraction": ("dcgan-mnist",)}
MM_SIZE = 2048


def machine(device: torch.device) -> dict[str, Any]:
    """The CPU model, cores, accelerator and library versions of this run."""
    from ganzoo.fastpath import physical_cores

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": cpu, "physical_cores": physical_cores(), "logical_cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "torch": torch.__version__, "python": platform.python_version(),
            "os": platform.platform(), "device": str(device), "load_average_1m": os.getloadavg()[0]}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def mm_rate(device: torch.device, dtype: torch.dtype, n: int = MM_SIZE, reps: int = 3) -> float:
    """FLOP/s of torch.mm on n x n matrices (best of ``reps`` after a warm-up)."""
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(reps):
        sync(device)
        start = time.perf_counter()
        torch.mm(a, b)
        sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


class Stopwatch:
    """Observer plugin: the time from a train() call's start to its last logged step."""

    def __init__(self) -> None:
        self.start = self.end = 0.0

    @hookimpl
    def ganzoo_train_start(self, run: Any) -> None:
        """Start the clock."""
        sync(run.device)
        self.start = time.perf_counter()

    @hookimpl
    def ganzoo_step_end(self, run: Any, step: int, logs: dict) -> None:
        """Stop the clock at each log flush (the last one ends the window)."""
        if step == run.total_steps:
            sync(run.device)
            self.end = time.perf_counter()


def ganzoo_loop(name: str, engine: Any, config: dict, device: torch.device, data: Any, eval_data: Any,
                root: Path, stopwatch: Stopwatch) -> tuple[Loop, Any]:
    """The real Trainer, continued ``steps`` further per call (samples and checkpoints pushed past the end)."""
    from ganzoo.trainer import Trainer

    trainer = Trainer(engine, config, device, Path(tempfile.mkdtemp(prefix="ganzoo-throughput-")), data, root,
                      eval_data, progress=False)
    (trainer.run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)

    def run(steps: int) -> float:
        trainer.total_steps = trainer.step + steps
        trainer.train()
        return stopwatch.end - stopwatch.start

    return Loop(name, run, trainer.images_per_step), trainer


def flops_per_image(engine: Any, config: dict, device: torch.device, data: Any) -> float:
    """FLOPs of one training iteration (D step + G step, fp32) per training image, counted by FlopCounterMode."""
    from torch.utils.flop_counter import FlopCounterMode

    from ganzoo.fastpath import FastPaths

    plain = FastPaths(device, "off", False, "default", False, "for-loop", torch.get_num_threads())
    loop = bare_loop(engine, config, device, data, plain)
    loop.run(1)
    with FlopCounterMode(display=False) as counter:
        loop.run(1)
    return counter.get_total_flops() / loop.images_per_step


def profile_ganzoo(trainer: Any, steps: int, path: Path) -> None:
    """A torch.profiler table of ``steps`` ganzoo iterations (why a target was missed)."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if trainer.device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        for _ in range(steps):
            trainer.schedule.step(trainer.batcher.next)
        sync(trainer.device)
    sort = "self_cuda_time_total" if trainer.device.type == "cuda" else "self_cpu_time_total"
    path.write_text(prof.key_averages().table(sort_by=sort, row_limit=30) + "\n", encoding="utf-8")


def sampling_and_eval(trainer: Any, metrics: list[str], n: int) -> dict[str, Any]:
    """Generator-forward throughput for n samples, and the seconds the experiment's metrics take on n samples."""
    labels = None
    if trainer.spec.conditional and generator_classes(trainer.generator):
        labels = torch.arange(n) % trainer.spec.num_classes
    z = torch.randn(n, trainer.generator.latent_dim)
    trainer.generate(z[:500], labels[:500] if labels is not None else None)
    start = time.perf_counter()
    trainer.generate(z, labels)
    sampling = n / (time.perf_counter() - start)
    out: dict[str, Any] = {"sampling_images_per_s": sampling, "eval_n": n, "eval_metrics": metrics,
                           "eval_seconds": None}
    if metrics:
        trainer.config["eval"].update(metrics=metrics, n=n)
        start = time.perf_counter()
        trainer.evaluate()
        out["eval_seconds"] = time.perf_counter() - start
    return out


def measure(name: str, args: argparse.Namespace, device: torch.device, root: Path) -> dict[str, Any]:
    """Every figure for one experiment."""
    from ganzoo.engine import Engine

    stopwatch = Stopwatch()
    engine = Engine(extra_plugins=[stopwatch])
    overrides = ["train.sample_every=100000000", "train.checkpoint_every=100000000", "eval.metrics=[]",
                 "eval.primary=null", "eval.every=0"] + args.overrides
    overrides += [f"train.batch_size={args.batch_size}"] * bool(args.batch_size)
    config = engine.resolve(name, overrides)
    evaluation = engine.resolve(name, args.overrides)["eval"]
    metrics = list(evaluation["metrics"])
    data = engine.load_data(config, "train", root)
    eval_data = engine.load_data(config, evaluation["split"], root) if metrics else None
    loop, trainer = ganzoo_loop("ganzoo", engine, config, device, data, eval_data, root, stopwatch)
    loops = [loop, bare_loop(engine, config, device, data, trainer.fast)]
    if not args.no_naive:
        loops.append(naive_loop(engine, config, device, data, root))
    for variant in [v for v in args.variants.split(";") if v.strip()]:
        varied = engine.resolve(name, overrides + [f"train.{variant.strip()}"])
        loops.append(ganzoo_loop(f"variant:{variant.strip()}", engine, varied, device, data, None, root,
                                 stopwatch)[0])
    dtype = torch.bfloat16 if trainer.fast.amp == "bf16" else torch.float16 if trainer.fast.amp == "fp16" else torch.float32
    steps = args.steps or config["train"]["log_every"]
    for each in loops:
        each.run(args.warmup)
    rounds: dict[str, list[float]] = {each.name: [] for each in loops}
    rounds["mm_flops"] = []
    for r in range(args.rounds):
        shift = r % len(loops)
        for each in loops[shift:] + loops[:shift]:
            rounds[each.name].append(steps * each.images_per_step / each.run(steps))
        rounds["mm_flops"].append(mm_rate(device, dtype))
    per_image = flops_per_image(engine, config, device, data)
    result: dict[str, Any] = {
        "experiment": name, "device": str(device), "batch_size": config["train"]["batch_size"],
        "images_per_step": trainer.images_per_step, "fast_paths": trainer.fast.describe(),
        "steps_per_round": steps, "rounds": args.rounds,
        "images_per_s": {k: statistics.median(v) for k, v in rounds.items() if k != "mm_flops"},
        "per_round_images_per_s": {k: v for k, v in rounds.items() if k != "mm_flops"},
        "flops_per_image": per_image, "mm_dtype": str(dtype).replace("torch.", ""),
        "mm_flops_per_s": statistics.median(rounds["mm_flops"]),
    }
    ratio = {"ganzoo_vs_bare": _ratio(rounds["ganzoo"], rounds["bare"])}
    if "naive" in rounds:
        ratio["ganzoo_vs_naive"] = _ratio(rounds["ganzoo"], rounds["naive"])
    for variant in (k for k in rounds if k.startswith("variant:")):
        ratio[f"{variant}_vs_ganzoo"] = _ratio(rounds[variant], rounds["ganzoo"])
    ratio["roofline_fraction"] = statistics.median(g * per_image / m for g, m in zip(rounds["ganzoo"], rounds["mm_flops"]))
    result["ratios"] = ratio
    result["targets"] = _targets(name, ratio, device)
    if args.profile_dir and any(not t["met"] for t in result["targets"].values()):
        path = Path(args.profile_dir) / f"throughput-profile-{device.type}-{name}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        profile_ganzoo(trainer, steps, path)
        result["profile"] = str(path)
    result.update(sampling_and_eval(trainer, metrics, args.eval_n) if args.eval_n else
                  {"sampling_images_per_s": None, "eval_n": 0, "eval_metrics": metrics, "eval_seconds": None})
    return result


def _ratio(top: list[float], bottom: list[float]) -> float:
    return statistics.median(a / b for a, b in zip(top, bottom))


def _targets(name: str, ratio: dict[str, float], device: torch.device) -> dict[str, dict]:
    found = {}
    for key, minimum in TARGETS.items():
        only = TARGET_EXPERIMENTS[key]
        if key not in ratio or (only is not None and name not in only) or (key != "ganzoo_vs_bare" and device.type != "cpu"):
            continue
        found[key] = {"minimum": minimum, "value": ratio[key], "met": ratio[key] >= minimum}
    return found


def print_table(results: list[dict]) -> None:
    """The headline figures as a rich table."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="training throughput (images/s; ratios are medians of per-round ratios)")
    for column in ("experiment", "ganzoo", "bare", "naive", "ganzoo/bare", "ganzoo/naive", "GFLOP/img",
                   "roofline", "sample/s", "eval s"):
        table.add_column(column, justify="left" if column == "experiment" else "right")
    for r in results:
        ips, ratio = r["images_per_s"], r["ratios"]
        table.add_row(r["experiment"], f"{ips['ganzoo']:.0f}", f"{ips['bare']:.0f}", _fmt(ips.get("naive"), ".0f"),
                      _fmt(ratio["ganzoo_vs_bare"], ".3f"), _fmt(ratio.get("ganzoo_vs_naive"), ".2f"),
                      f"{r['flops_per_image'] / 1e9:.3f}", f"{ratio['roofline_fraction']:.0%}",
                      _fmt(r["sampling_images_per_s"], ".0f"), _fmt(r["eval_seconds"], ".1f"))
    Console(width=140).print(table)
    for r in results:
        extra = {k: round(v, 3) for k, v in r["ratios"].items() if k.startswith("variant:")}
        if extra:
            Console(width=140).print(f"{r['experiment']} variants (images/s relative to ganzoo's defaults): {extra}")


def markdown(report: dict) -> str:
    """The report as Markdown: machine, protocol, one row per experiment, variants, targets, skipped."""
    m = report["machine"]
    lines = [f"# Training throughput on {m['device']}", "",
             f"`uv run python {report['command']}` at {report['time']}", "",
             f"Machine: {m['cpu']}, {m['physical_cores']} physical cores ({m['logical_cpus']} logical), "
             f"torch {m['torch']} with {m['torch_threads']} threads{', GPU ' + m['gpu'] if 'gpu' in m else ''}; "
             f"1-minute load average at the end: {m['load_average_1m']:.1f}.", "",
             "| experiment | ganzoo img/s | bare img/s | naive img/s | ganzoo/bare | ganzoo/naive | GFLOP/img | "
             "roofline | sampling img/s | eval s (n) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["results"]:
        ips, ratio = r["images_per_s"], r["ratios"]
        lines.append(f"| {r['experiment']} | {ips['ganzoo']:.0f} | {ips['bare']:.0f} | {_fmt(ips.get('naive'), '.0f')} | "
                     f"{ratio['ganzoo_vs_bare']:.3f} | {_fmt(ratio.get('ganzoo_vs_naive'), '.2f')} | "
                     f"{r['flops_per_image'] / 1e9:.3f} | {ratio['roofline_fraction']:.0%} | "
                     f"{_fmt(r['sampling_images_per_s'], '.0f')} | {_fmt(r['eval_seconds'], '.1f')} ({r['eval_n']}) |")
    lines += ["", "Fast-path variants (ganzoo loop with one train key changed, images/s relative to the defaults):", ""]
    for r in report["results"]:
        extra = ", ".join(f"{k[8:-10]}: {v:.2f}x" for k, v in r["ratios"].items() if k.startswith("variant:"))
        lines.append(f"- {r['experiment']} ({', '.join(f'{k}={v}' for k, v in r['fast_paths'].items())}): {extra or '-'}")
    lines += ["", "Targets:", ""]
    for r in report["results"]:
        for key, t in r["targets"].items():
            note = f"; profile: {Path(r['profile']).name}" if "profile" in r and not t["met"] else ""
            lines.append(f"- {r['experiment']} {key} = {t['value']:.3f} (minimum {t['minimum']}): "
                         f"{'met' if t['met'] else 'MISSED'}{note}")
    lines += [f"- skipped {s['experiment']}: {s['reason']}" for s in report["skipped"]]
    return "\n".join(lines) + "\n"


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--experiments", default="", help="comma-separated names (default: every built-in experiment)")
    p.add_argument("--steps", type=int, default=0,
                   help="training steps per loop per round (default: the experiment's train.log_every, one log window)")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (medians are taken over them)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps per loop before the rounds")
    p.add_argument("--batch-size", type=int, default=0, help="override train.batch_size (default: the experiment's)")
    p.add_argument("--variants", default="", help='extra ganzoo loops, ";"-separated train keys, e.g. "adam=foreach;amp=bf16"')
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="config override for every experiment (repeatable), e.g. --set dataset.n=2000")
    p.add_argument("--no-naive", action="store_true", help="skip the naive DataLoader loop")
    p.add_argument("--eval-n", type=int, default=10000, help="samples for the sampling and evaluation timings (0: skip)")
    p.add_argument("--data-root", default=None, help="data directory (default: $GANZOO_DATA)")
    p.add_argument("--profile-dir", default=None, help="write a torch.profiler table here for experiments that miss a target")
    p.add_argument("--out", default=None, help="JSON file to write")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; one line on stderr and exit 2 for bad input."""
    from ganzoo.data import default_data_root
    from ganzoo.device import resolve_device
    from ganzoo.engine import Engine
    from ganzoo.errors import DataError, GanzooError

    args = parse_args(argv)
    try:
        if args.steps < 0 or args.rounds < 1 or args.warmup < 0 or args.eval_n < 0:
            raise GanzooError("--rounds must be positive, --steps, --warmup and --eval-n 0 or more")
        device = resolve_device(args.device)
        names = [n.strip() for n in args.experiments.split(",") if n.strip()] or sorted(Engine().registry.names("experiments"))
        root = default_data_root(args.data_root)
        results, skipped = [], []
        for name in names:
            try:
                results.append(measure(name, args, device, root))
            except DataError as exc:
                skipped.append({"experiment": name, "reason": str(exc)})
                print(f"skipped {name}: {exc}", file=sys.stderr)
    except GanzooError as exc:
        print(f"throughput: error: {exc}", file=sys.stderr)
        return 2
    print_table(results)
    report = {"benchmark": "throughput", "command": " ".join(["benchmarks/throughput.py", *(argv or sys.argv[1:])]),
              "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine(device),
              "protocol": {"steps_per_round": args.steps or "train.log_every", "rounds": args.rounds, "warmup_steps": args.warmup,
                           "order": "rotated each round", "ratio": "median of per-round ratios",
                           "ganzoo_window": "train start to last log flush; samples/checkpoints/eval outside"},
              "results": results, "skipped": skipped}
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        Path(args.out).with_suffix(".md").write_text(markdown(report), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
