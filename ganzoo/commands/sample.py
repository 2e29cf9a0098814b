"""``ganzoo sample``: write a grid of samples from a trained run's checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from ganzoo.commands.common import load_engine, out
from ganzoo.errors import GanzooError, RunDirError

if TYPE_CHECKING:
    import torch

    from ganzoo.api import TrainedGenerator


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``sample``."""
    sample = sub.add_parser("sample", help="write a grid of samples from a trained run")
    sample.add_argument("run_dir", help="a run directory written by 'ganzoo run'")
    sample.add_argument("-n", "--n", type=int, help="number of samples (default: a row per class for conditional "
                                                    "models, else the run's sample.n; with --dump the run's eval.n)")
    sample.add_argument("--label", type=int, help="class of every sample (conditional models only)")
    sample.add_argument("--seed", type=int, default=0, help="noise seed (default: 0)")
    sample.add_argument("--vary", metavar="CODE", help="vary one latent code and hold the rest: a row per value "
                                                      "(each category; a continuous code from -2 to 2), a column "
                                                      "per noise (--n of them; default sample.nrow); generators "
                                                      "with latent codes only (e.g. infogan)")
    sample.add_argument("-o", "--output", help="output file (default: RUN_DIR/samples/sample-SEED.png, "
                                               "with --vary vary-CODE-SEED.png)")
    sample.add_argument("--dump", metavar="DIR|FILE.npz", help="write the samples for external scorers instead of a "
                                                             "grid: one PNG each into DIR, or one .npz (uint8 N x H x "
                                                             "W x C under x, classes under labels)")
    sample.add_argument("--input", metavar="DIR|IMAGE", help="translate your own images (image-to-image models: "
                                                            "pix2pix, cyclegan): one PNG per input, written under -o "
                                                            "DIR (default RUN_DIR/samples/translated/), or to -o FILE "
                                                            "for one image; without --input such a model translates "
                                                            "sources of its data set into a grid")
    sample.add_argument("--frames", type=int, help="clips of this many frames, longer (or shorter) than the "
                                                   "training clips: video generators with a motion network only "
                                                   "(e.g. mocogan)")
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


def check_code(code: str, codes: dict[str, int], run_dir: str, network: str) -> None:
    """--vary only for a generator that declares latent codes, and only one of them."""
    if not codes:
        raise GanzooError(f"--vary {code}: the generator of {run_dir} ({network}) declares no latent codes; "
                          "--vary works with generators that do (e.g. network 'infogan')")
    if code not in codes:
        raise GanzooError(f"--vary {code}: unknown latent code; this generator's codes are {', '.join(codes)}")


def sample_command(args: argparse.Namespace) -> int:
    """Validate the request, load the run (``ganzoo.load``), write the grid and print its path."""
    from ganzoo.api import load
    from ganzoo.samples import save_samples

    if args.n is not None and args.n < 1:
        raise GanzooError(f"--n must be at least 1, got {args.n}")
    if args.frames is not None and (args.dump or args.vary or args.input):
        raise GanzooError("--frames makes a grid of longer clips: drop --dump, --vary and --input")
    generator = load(args.run_dir, args.device, engine=load_engine())
    classes, network = generator.num_classes, generator.config["network"]["name"]
    check_label(args.label, classes, args.run_dir, network)
    nrow = generator.config["sample"]["nrow"]
    if args.input is not None or generator.spec.translation:
        return translate_command(args, generator, network)
    if args.dump is not None:
        return dump_command(args, generator, classes)
    if args.vary is not None:
        check_code(args.vary, generator.codes, args.run_dir, network)
        nrow = args.n or nrow
        x = generator.vary(args.vary, nrow, args.label, seed=args.seed)
        n, name = len(x), f"vary-{args.vary}-{args.seed}"
    else:
        if args.n is not None:
            n = args.n
        elif classes and args.label is None:
            n = classes * nrow
        else:
            n = generator.config["sample"]["n"]
        x = generator.sample(n, sample_labels(n, nrow, classes, args.label), seed=args.seed, frames=args.frames)
        name = f"sample-{args.seed}"
    stem = Path(args.output).expanduser() if args.output else generator.loaded.run_dir / "samples" / name
    try:
        written = save_samples(x, generator.spec, stem, max(1, min(nrow, n)))
    except OSError as exc:
        raise RunDirError(f"cannot write {stem}: {exc.strerror or exc}; choose another -o") from None
    for path in written:
        out.print(str(path), markup=False, highlight=False)
    return 0


def translate_command(args: argparse.Namespace, generator: "TrainedGenerator", network: str) -> int:
    """An image-to-image model: translate ``--input`` (one PNG each), else a grid of its data set's sources;
    prints the files written."""
    from ganzoo.engine import Engine
    from ganzoo.translate import translate_data, translate_files

    if not generator.spec.translation:
        raise GanzooError(f"--input translates images, but the generator of {args.run_dir} ({network}) samples from "
                          "noise; drop --input")
    if args.dump is not None or args.vary is not None:
        raise GanzooError("an image-to-image model translates images: drop --dump and --vary (use --input DIR)")
    output = Path(args.output).expanduser() if args.output else None
    if args.input is not None:
        written = translate_files(generator, Path(args.input).expanduser(), output)
    else:
        n = args.n or generator.config["sample"]["n"]
        stem = output or generator.loaded.run_dir / "samples" / f"translate-{args.seed}"
        written = [translate_data(generator, Engine(), n, args.seed, stem.with_suffix(".png"))]
    for path in written:
        out.print(str(path), markup=False, highlight=False)
    return 0


def dump_command(args: argparse.Namespace, generator: "TrainedGenerator", classes: int) -> int:
    """``--dump``: n samples (default eval.n; classes cycling, or all ``--label``) as PNGs or an .npz; prints the
    path."""
    from ganzoo.sample_dump import dump_samples

    if args.vary is not None or args.output:
        raise GanzooError("--dump writes its own files; drop --vary and -o")
    n = args.n or generator.config["eval"]["n"]
    target = dump_samples(generator, Path(args.dump).expanduser(), n, sample_labels(n, 1, classes, args.label),
                          args.seed)
    out.print(str(target), markup=False, highlight=False)
    return 0
