"""``ganzoo sample``: write a grid of samples from a trained run's checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from ganzoo.commands.common import load_engine, out
from ganzoo.errors import CheckpointError, GanzooError, RunDirError

if TYPE_CHECKING:
    import torch

    from ganzoo.runs import LoadedRun


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


def generator_classes(generator: "torch.nn.Module") -> int:
    """How many classes a generator is conditioned on (its ``num_classes``); 0 when unconditional."""
    return int(getattr(generator, "num_classes", 0) or 0)


def sample_labels(n: int, nrow: int, classes: int, label: int | None) -> "torch.Tensor | None":
    """Labels for a grid: all ``label`` when given, else one class per row, cycling; None when unconditional."""
    import torch

    if not classes:
        return None
    if label is not None:
        return torch.full((n,), label, dtype=torch.int64)
    return (torch.arange(n) // nrow) % classes


def draw_samples(run: "LoadedRun", n: int, labels: "torch.Tensor | None", seed: int,
                 device: "torch.device", batch: int = 500) -> "torch.Tensor":
    """n samples from the run's generator, from noise seeded by ``seed``, on the CPU."""
    import torch

    z = torch.randn(n, run.generator.latent_dim, generator=torch.Generator().manual_seed(seed))
    parts = []
    with torch.no_grad():
        for i in range(0, n, batch):
            lab = labels[i : i + batch].to(device) if labels is not None else None
            parts.append(run.generator(z[i : i + batch].to(device), lab).float().cpu())
    return torch.cat(parts)


def load_for_sampling(run_dir: str, device: "torch.device") -> "LoadedRun":
    """The run's generator; a checkpoint that does not fit its own config is reported as corrupt."""
    from ganzoo.runs import load_run

    try:
        return load_run(run_dir, device, engine=load_engine())
    except GanzooError:
        raise
    except (KeyError, RuntimeError, TypeError, ValueError) as exc:
        detail = f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
        raise CheckpointError(f"the checkpoint in {run_dir} does not match its run's config ({detail})") from None


def check_label(label: int | None, classes: int, run: "LoadedRun") -> None:
    """--label only for a conditional generator, and only one of its classes."""
    if label is None:
        return
    if not classes:
        raise GanzooError(f"--label {label}: the generator of {run.run_dir} ({run.config['network']['name']}) "
                          "is unconditional; drop --label")
    if not 0 <= label < classes:
        raise GanzooError(f"--label {label} is out of range: this model knows classes 0..{classes - 1}")


def sample_command(args: argparse.Namespace) -> int:
    """Validate the request, load the run, write the grid and print its path."""
    from ganzoo.device import resolve_device
    from ganzoo.samples import save_samples

    if args.n is not None and args.n < 1:
        raise GanzooError(f"--n must be at least 1, got {args.n}")
    device = resolve_device(args.device)
    run = load_for_sampling(args.run_dir, device)
    classes = generator_classes(run.generator)
    check_label(args.label, classes, run)
    nrow = run.config["sample"]["nrow"]
    if args.n is not None:
        n = args.n
    elif classes and args.label is None:
        n = classes * nrow
    else:
        n = run.config["sample"]["n"]
    x = draw_samples(run, n, sample_labels(n, nrow, classes, args.label), args.seed, device)
    stem = Path(args.output).expanduser() if args.output else run.run_dir / "samples" / f"sample-{args.seed}"
    try:
        written = save_samples(x, run.spec, stem, max(1, min(nrow, n)))
    except OSError as exc:
        raise RunDirError(f"cannot write {stem}: {exc.strerror or exc}; choose another -o") from None
    for path in written:
        out.print(str(path), markup=False, highlight=False)
    return 0
