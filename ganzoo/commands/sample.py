"""``ganzoo sample``: write a grid of samples from a trained run's checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from ganzoo.commands.common import load_engine, out
from ganzoo.errors import GanzooError, RunDirError

if TYPE_CHECKING:
    import torch


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``sample``."""
    sample = sub.add_parser("sample", help="write a grid of samples from a trained run")
    sample.add_argument("run_dir", help="a run directory written by 'ganzoo run'")
    sample.add_argument("--n", type=int, help="number of samples (default: a row per class for conditional "
                                              "models, else the run's sample.n)")
    sample.add_argument("--label", type=int, help="class of every sample (conditional models only)")
    sample.add_argument("--seed", type=int, default=0, help="noise seed (default: 0)")
    sample.add_argument("-o", "--output", help="output file (default: RUN_DIR/samples/sample-SEED.png)")
    sample.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps (default: auto)")
    sample.set_defaults(handler=sample_command)


def sample_labels(n: int, nrow: int, classes: int, label: int | None) -> "torch.Tensor | None":
    """Labels for a grid: all ``label`` when given, else one class per row, cycling; None when unconditional."""
    import torch

    if not classes:
        return None
    if label is not None:
        return torch.full((n,), label, dtype=torch.int64)
    return (torch.arange(n) // nrow) % classes


def check_label(label: int | None, classes: int, run_dir: str, network: str) -> None:
    """--label only for a conditional generator, and only one of its classes."""
    if label is None:
        return
    if not classes:
        raise GanzooError(f"--label {label}: the generator of {run_dir} ({network}) is unconditional; drop --label")
    if not 0 <= label < classes:
        raise GanzooError(f"--label {label} is out of range: this model knows classes 0..{classes - 1}")


def sample_command(args: argparse.Namespace) -> int:
    """Validate the request, load the run (``ganzoo.load``), write the grid and print its path."""
    from ganzoo.api import load
    from ganzoo.samples import save_samples

    if args.n is not None and args.n < 1:
        raise GanzooError(f"--n must be at least 1, got {args.n}")
    generator = load(args.run_dir, args.device, engine=load_engine())
    classes = generator.num_classes
    check_label(args.label, classes, args.run_dir, generator.config["network"]["name"])
    nrow = generator.config["sample"]["nrow"]
    if args.n is not None:
        n = args.n
    elif classes and args.label is None:
        n = classes * nrow
    else:
        n = generator.config["sample"]["n"]
    x = generator.sample(n, sample_labels(n, nrow, classes, args.label), seed=args.seed)
    stem = Path(args.output).expanduser() if args.output else generator.loaded.run_dir / "samples" / f"sample-{args.seed}"
    try:
        written = save_samples(x, generator.spec, stem, max(1, min(nrow, n)))
    except OSError as exc:
        raise RunDirError(f"cannot write {stem}: {exc.strerror or exc}; choose another -o") from None
    for path in written:
        out.print(str(path), markup=False, highlight=False)
    return 0
