"""``ganzoo eval``: score a run, or samples made elsewhere, and write eval.json with each metric's protocol."""

from __future__ import annotations

import argparse
import json
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from ganzoo.commands.common import describe_values, err, load_engine, out
from ganzoo.errors import GanzooError


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``eval``."""
    ev = sub.add_parser("eval", help="evaluate a run (or external samples) and write eval.json",
                        description="ganzoo eval RUN_DIR [--metrics a,b] | ganzoo eval --samples FILE.npz|DIR --dataset mnist")
    ev.add_argument("run_dir", nargs="?", help="run directory written by 'ganzoo run'")
    ev.add_argument("--samples", help=".npz (x: uint8 0..255 or floats in [-1, 1], optional labels) or a folder of images")
    ev.add_argument("--dataset", help="data set the samples imitate (with --samples), e.g. mnist")
    ev.add_argument("--metrics", help="comma-separated metric names (default: the run's eval.metrics; with --samples: fd)")
    ev.add_argument("--n", type=int, help="generated (and real) samples per metric (default: the run's eval.n)")
    ev.add_argument("--seed", type=int, help="seed of the sample draw (default: the run's train.seed, else 0)")
    ev.add_argument("--split", help="real data split to compare with (default: the run's eval.split, else test)")
    ev.add_argument("--frames", type=int, help="score clips of this many frames (a video run whose generator has "
                    "a motion network, e.g. mocogan; metrics of clips at the trained length are left out)")
    ev.add_argument("--checkpoint", default="last.pt", help="checkpoint file in RUN_DIR/checkpoints (default: last.pt)")
    ev.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps (default: auto)")
    ev.add_argument("--data-root", help="data directory (default: the one the run recorded if it still exists, "
                                        "else $GANZOO_DATA, else the user cache)")
    ev.add_argument("--out", help="where to write the results (default: RUN_DIR/eval.json, or beside the samples)")
    ev.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    ev.set_defaults(handler=eval_command)


def _metric_names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise GanzooError("--metrics needs at least one metric name, e.g. --metrics fd,kid")
    return names


def _default_out(args: argparse.Namespace) -> Path:
    if args.out:
        return Path(args.out)
    if args.samples:
        samples = Path(args.samples)
        return samples / "eval.json" if samples.is_dir() else samples.with_name(f"{samples.stem}.eval.json")
    return Path(args.run_dir) / ("eval.json" if args.frames is None else f"eval-frames{args.frames}.json")


def _run_lock(args: argparse.Namespace, target: Path) -> AbstractContextManager[object]:
    """The run directory's lock when the results go into it (a run being trained is refused), else nothing."""
    from ganzoo.runlock import acquire

    run_dir = Path(args.run_dir) if args.run_dir else None
    into_run = (run_dir is not None and (run_dir / "config.yaml").is_file()
                and target.resolve().is_relative_to(run_dir.resolve()))
    return acquire(run_dir, instead="write the results elsewhere with --out FILE") if into_run else nullcontext()


def eval_command(args: argparse.Namespace) -> int:
    """Check the arguments, compute every metric, then write eval.json and print the results."""
    from ganzoo.api import evaluate
    from ganzoo.metrics.evaluate import write_results

    if (args.run_dir is None) == (args.samples is None):
        raise GanzooError("pass either a run directory or --samples FILE.npz|DIR (with --dataset NAME)")
    if args.samples is not None and not args.dataset:
        raise GanzooError("--samples needs --dataset NAME, the data set the samples imitate (e.g. --dataset mnist)")
    if args.n is not None and args.n < 2:
        raise GanzooError(f"--n must be at least 2, got {args.n}")
    names, target = _metric_names(args.metrics), _default_out(args)
    with _run_lock(args, target):
        results = evaluate(args.samples or args.run_dir, names, n=args.n, seed=args.seed,
                           split=args.split, dataset=args.dataset if args.samples else None, device=args.device,
                           data_root=args.data_root, checkpoint=args.checkpoint, engine=load_engine(),
                           frames=args.frames)
        path = write_results(results, target)
    if args.json:
        out.print_json(json.dumps(results))
    else:
        for name, result in results.items():
            shown = describe_values(result)
            p = result["protocol"]
            who = f"{p['evaluator']} sha256 {p['evaluator_sha256'][:12]}" if "evaluator" in p else p.get("name", name)
            if "evaluator_test_accuracy" in p:
                who += f", test accuracy {p['evaluator_test_accuracy']:.2%}"
            if "evaluator_heldout_mse" in p:
                who += f", held-out reconstruction MSE {p['evaluator_heldout_mse']:.4g}"
            out.print(f"{name}: {shown}  [{who}; {p.get('split', '')} split; real {p.get('real_samples')}, "
                      f"fake {p.get('fake_samples')}; seed {p.get('seed')}]", highlight=False, markup=False)
        err.print(f"wrote {path}", highlight=False)
    return 0
