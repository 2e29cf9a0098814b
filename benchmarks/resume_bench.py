"""Reliability numbers: kill-and-resume trials, and checkpoint write time as a share of training.

    uv run python benchmarks/resume_bench.py kills --trials 5 --kills 2
    GANZOO_DATA=DIR uv run python benchmarks/resume_bench.py write-time --experiment dcgan-mnist

``kills``: each trial runs tiny gan-ring8 in a subprocess, SIGKILLs it at random logged steps
(resuming in between), finishes it, and compares every tensor of the final checkpoint with an
uninterrupted run bit for bit; it also reports the steps lost per crash.
``write-time``: times Trainer.save_checkpoint (step file + last.pt, fsync included) and training
steps of the experiment, and gives the checkpoint share at its configured interval.
"""

from __future__ import annotations

import argparse
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def kills(trials: int, per_trial: int, seed: int) -> None:
    """Kill-and-resume trials against one uninterrupted reference run."""
    import torch
    from reliability import TINY, bitwise_equal, cli, spawn, state, training_state, wait_for_step

    torch.set_num_threads(1)
    steps, every = 80, 10
    run = ["run", "gan-ring8", "--steps", str(steps), *TINY, "--set", f"train.checkpoint_every={every}",
           "--set", "train.log_every=1"]
    root = Path(tempfile.mkdtemp(prefix="ganzoo-kills-"))
    code, _, stderr = cli([*run, "--out", str(root / "reference")])
    assert code == 0, stderr
    rng, identical, lost = random.Random(seed), 0, []
    for trial in range(trials):
        out = root / f"trial{trial}"
        argv = [*run, "--out", str(out)]
        for target in sorted(rng.sample(range(2, steps - 2), per_trial)):
            proc = spawn(argv)
            seen = wait_for_step(proc, out, target)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            last = out / "checkpoints" / "last.pt"
            lost.append(seen - (state(last)["step"] if last.exists() else 0))
            argv = ["run", "--resume", str(out), "--no-progress"]
        code, _, stderr = cli(argv)
        assert code == 0, stderr
        diff = bitwise_equal(training_state(state(root / "reference" / "checkpoints" / "last.pt")),
                             training_state(state(out / "checkpoints" / "last.pt")))
        identical += not diff
        print(f"trial {trial}: {'bitwise identical' if not diff else diff[:3]}", flush=True)
    print(f"{trials} trials, {trials * per_trial} SIGKILLs: {identical}/{trials} bitwise identical; "
          f"steps lost per crash: max {max(lost)}, mean {statistics.mean(lost):.1f} (interval {every})")


def write_time(experiment: str, repeats: int) -> None:
    """Checkpoint write time and its share of training at the experiment's interval."""
    import torch

    from ganzoo.commands.common import load_engine
    from ganzoo.data import default_data_root
    from ganzoo.trainer import Trainer

    engine = load_engine()
    config = engine.resolve(experiment)
    root = default_data_root()
    data = engine.load_data(config, "train", root)
    run_dir = Path(tempfile.mkdtemp(prefix="ganzoo-ckpt-"))
    trainer = Trainer(engine, config, torch.device("cpu"), run_dir, data, root, progress=False)
    for _ in range(3):
        trainer.schedule.step(trainer.batcher.next)
    start = time.perf_counter()
    for _ in range(repeats):
        trainer.schedule.step(trainer.batcher.next)
    step_s = (time.perf_counter() - start) / repeats
    writes = []
    for i in range(repeats):
        trainer.step = i + 1
        start = time.perf_counter()
        trainer.save_checkpoint()
        writes.append(time.perf_counter() - start)
    size = (run_dir / "checkpoints" / "last.pt").stat().st_size
    every = config["train"]["checkpoint_every"]
    write_s = statistics.median(writes)
    share = write_s / (every * step_s + write_s)
    print(f"{experiment}: checkpoint {size / 2**20:.1f} MiB written in {write_s * 1000:.0f} ms (median of {repeats}); "
          f"training step {step_s * 1000:.0f} ms on {torch.get_num_threads()} CPU thread(s); "
          f"every {every} steps -> checkpoints take {share:.2%} of training time")


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    k = sub.add_parser("kills")
    k.add_argument("--trials", type=int, default=5)
    k.add_argument("--kills", type=int, default=2)
    k.add_argument("--seed", type=int, default=0)
    w = sub.add_parser("write-time")
    w.add_argument("--experiment", default="dcgan-mnist")
    w.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.what == "kills":
        kills(args.trials, args.kills, args.seed)
    else:
        write_time(args.experiment, args.repeats)


if __name__ == "__main__":
    main()
