"""How fast the command line answers: median wall time of a few commands, and whether each imported torch.

    uv run python benchmarks/cli_startup.py                  # 7 runs of each command, this checkout
    uv run python benchmarks/cli_startup.py --repeat 15 --root /tmp/ganzoo-old   # another checkout, same Python

Each command is spawned as ``python -m ganzoo ...`` (from ``--root``, which comes first on PYTHONPATH), so
the time includes the interpreter's start; one more run under ``-X importtime`` says whether it imported
torch. ``run gan-ring8 --set network.hiden=64`` is a config error: it should be answered before torch loads.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = {
    "bad --set": ["run", "gan-ring8", "--set", "network.hiden=64"],
    "show": ["show", "gan-ring8"],
    "--help": ["--help"],
}


def spawn(root: Path, args: list[str], flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Run ``python [flags] -m ganzoo ARGS`` with ``root`` first on the import path, offline."""
    env = {**os.environ, "GANZOO_OFFLINE": "1", "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, *flags, "-m", "ganzoo", *args], capture_output=True, text=True,
                          env=env, cwd=root)


def median_seconds(root: Path, args: list[str], repeat: int) -> float:
    """Median wall time of ``repeat`` runs of one command."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        spawn(root, args)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def imports_torch(root: Path, args: list[str]) -> bool:
    """Whether the command imports torch (read from ``-X importtime``'s report on stderr)."""
    report = spawn(root, args, ("-X", "importtime")).stderr
    return any(line.split("|")[-1].strip() == "torch" for line in report.splitlines() if "|" in line)


def main() -> None:
    """Measure each command and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per command (default 7)")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="the checkout whose ganzoo is measured (default: this one)")
    args = parser.parse_args()
    print(f"ganzoo from {args.root}, {args.repeat} runs each, median wall time\n")
    print("| command | median (s) | imports torch |\n|---|---|---|")
    for label, command in COMMANDS.items():
        seconds = median_seconds(args.root, command, args.repeat)
        print(f"| `ganzoo {' '.join(command)}` ({label}) | {seconds:.2f} | {imports_torch(args.root, command)} |",
              flush=True)


if __name__ == "__main__":
    main()
