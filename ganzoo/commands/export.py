"""``ganzoo export``: write a run's sampling generator as safetensors (+ JSON) or TorchScript."""

from __future__ import annotations

import argparse

from ganzoo.commands.common import load_engine, out


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``export``."""
    export = sub.add_parser("export", help="export a run's generator for other tools (safetensors or TorchScript)")
    export.add_argument("run_dir", help="a run directory written by 'ganzoo run'")
    export.add_argument("--format", default="safetensors", metavar="FORMAT",
                        help="safetensors: weights + JSON to rebuild with ganzoo; torchscript: a file plain torch "
                             "samples from (default: safetensors)")
    export.add_argument("-o", "--output", help="output file (default: RUN_DIR/export/generator.safetensors, "
                                               "or generator.pt for torchscript)")
    export.add_argument("--checkpoint", default="last.pt",
                        help="checkpoint file in RUN_DIR/checkpoints (default: last.pt)")
    export.set_defaults(handler=export_command)


def export_command(args: argparse.Namespace) -> int:
    """Check the format, load the run, write the export and print each file written."""
    from ganzoo.api import load
    from ganzoo.export import check_format, default_export_path, export_run

    check_format(args.format)
    engine = load_engine()
    run = load(args.run_dir, "cpu", args.checkpoint, engine=engine).loaded
    path = args.output or default_export_path(run.run_dir, args.format)
    for written in export_run(run, args.format, path, engine):
        out.print(str(written), markup=False, highlight=False)
    return 0
