"""Reliability numbers: kill-and-resume trials, and checkpoint write time as a share of training.

    uv run python benchmarks/resume_bench.py kills --trials 5 --kills 2
    GANZOO_DATA=DIR uv run python benchmarks/resume_bench.py write-time --experiment dcgan-mnist
    uv run python benchmarks/resume_bench.py streamed-kill FOLDER [--steps 60 --kill-at 37]

``kills``: each trial runs tiny gan-ring8 in a subprocess, SIGKILLs it at random logged steps
(resuming in between), finishes it, and compares every tensor of the final checkpoint with an
uninterrupted run bit for bit; it also reports the steps lost per crash.
``write-time``: times Trainer.save_checkpoint (step file + last.pt, fsync included) and training
steps of the experiment, and gives the checkpoint share at its configured interval.
``streamed-kill``: folder-dcgan32 streaming FOLDER (e.g. the 200,000 images of make_image_folder.py) from its
decoded cache with two DataLoader workers and random flips, SIGKILLed after ``--kill-at`` logged steps (mid-epoch
for any folder of more than ``--steps`` x 64 images), resumed, and compared bit for bit with an uninterrupted run.
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


def streamed_kill(folder: Path, steps: int, kill_at: int) -> None:
    """One SIGKILL of a run streaming ``folder``, its resume, and a bitwise comparison with a run never stopped."""
    from reliability import bitwise_equal, cli, spawn, state, training_state, wait_for_step

    sets = [f"dataset.path={folder}", "dataset.resident=false", "dataset.workers=2", "dataset.hflip=true",
            "network.g_width=16", "network.d_width=16", "train.batch_size=64", "train.checkpoint_every=10",
            "train.log_every=1", "train.threads=1", "train.sample_every=100000", "eval.metrics=[]",
            "eval.primary=null"]
    run = ["run", "folder-dcgan32", "--steps", str(steps), "--no-progress", *[a for s in sets for a in ("--set", s)]]
    root = Path(tempfile.mkdtemp(prefix="ganzoo-streamed-kill-"))
    start = time.perf_counter()
    code, _, stderr = cli([*run, "--out", str(root / "reference")])
    assert code == 0, stderr
    print(f"uninterrupted: {steps} steps in {time.perf_counter() - start:.1f} s", flush=True)
    proc = spawn([*run, "--out", str(root / "killed")])
    seen = wait_for_step(proc, root / "killed", kill_at, timeout=600)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed = state(root / "killed" / "checkpoints" / "last.pt")
    print(f"SIGKILL after logged step {seen}: newest checkpoint at step {killed['step']}, data position "
          f"{killed['data']}", flush=True)
    code, _, stderr = cli(["run", "--resume", str(root / "killed"), "--no-progress"])
    assert code == 0, stderr
    final = state(root / "killed" / "checkpoints" / "last.pt")
    diff = bitwise_equal(training_state(state(root / "reference" / "checkpoints" / "last.pt")), training_state(final))
    print(f"resumed to step {final['step']}: {'bitwise identical to the uninterrupted run' if not diff else diff[:5]}")


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
    s = sub.add_parser("streamed-kill")
    s.add_argument("folder", type=Path)
    s.add_argument("--steps", type=int, default=60)
    s.add_argument("--kill-at", type=int, default=37)
    args = parser.parse_args()
    if args.what == "kills":
        kills(args.trials, args.kills, args.seed)
    elif args.what == "streamed-kill":
        streamed_kill(args.folder.resolve(), args.steps, args.kill_at)
    else:
        write_time(args.experiment, args.repeats)


if __name__ == "__main__":
    main()
