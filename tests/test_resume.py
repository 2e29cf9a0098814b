"""Exact resume: SIGKILL at random steps, resume each time, compare with an uninterrupted run bit for bit
(also for a folder of images streamed from its decoded cache through DataLoader workers)."""

from __future__ import annotations

import json
import random
import signal

import pytest
import yaml
import numpy as np
from PIL import Image
from reliability import (  # noqa: F401 - one_thread is an autouse fixture
    TINY, bitwise_equal, cli, events, one_thread, spawn, state, training_state, uninterrupted_run,
    wait_for_step)

STEPS, EVERY = 80, 10
#: Lazy R1 every 4th D update: checkpoints at steps 10, 20... fall mid-cycle, so a resumed run
#: must carry the loss's update counter to apply R1 on the same steps.
RUN = ["run", "gan-ring8", "--steps", str(STEPS), *TINY, "--set", f"train.checkpoint_every={EVERY}",
       "--set", "train.log_every=1", "--set", "train.keep_last=2", "--set", "eval.every=30",
       "--set", "loss.r1_every=4"]


reference = uninterrupted_run(RUN)


def test_sigkill_at_random_steps_then_resume_is_bitwise_identical(reference, tmp_path):
    out = tmp_path / "run"
    kills = sorted(random.Random(9).sample(range(5, STEPS - 5), 3))
    argv = [*RUN, "--out", str(out)]
    resumed_from = []
    for target in kills:
        proc = spawn(argv)
        seen = wait_for_step(proc, out, target)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert seen >= target, proc.stderr.read()
        argv = ["run", "--resume", str(out), "--no-progress"]
        last = state(out / "checkpoints" / "last.pt") if (out / "checkpoints" / "last.pt").exists() else {"step": 0}
        assert seen - last["step"] <= EVERY, f"lost {seen - last['step']} steps at a kill"
        resumed_from.append(last["step"])
    code, _, stderr = cli(argv)
    assert code == 0, stderr
    assert len(set(resumed_from)) > 1
    for name in ("last.pt", f"step_{STEPS:06d}.pt", "best.pt"):
        diff = bitwise_equal(training_state(state(reference / "checkpoints" / name)),
                             training_state(state(out / "checkpoints" / name)))
        assert diff == [], f"{name} differs at {diff[:5]}"
    assert events(out) == events(reference)
    resumes = events(out, ("resume",))
    assert [e["step"] for e in resumes] == resumed_from
    assert json.loads((out / "eval.json").read_text()) == json.loads((reference / "eval.json").read_text())


def test_resume_refuses_an_edited_config_unless_set_overrides_it(reference, tmp_path):
    run = tmp_path / "run"
    code, _, stderr = cli([*RUN[:3], "40", *RUN[4:], "--out", str(run)])
    assert code == 0, stderr
    before = state(run / "checkpoints" / "last.pt")
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["schedule"]["lr_g"] = 0.5
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    code, _, stderr = cli(["run", "--resume", str(run), "--steps", "50", "--no-progress"])
    assert code == 2 and len(stderr.strip().splitlines()) == 1 and "schedule.lr_g" in stderr
    assert bitwise_equal(training_state(state(run / "checkpoints" / "last.pt")), training_state(before)) == []
    code, _, stderr = cli(["run", "--resume", str(run), "--steps", "50", "--set", "schedule.lr_g=0.5", "--no-progress"])
    assert code == 0, stderr
    saved = state(run / "checkpoints" / "last.pt")
    assert saved["step"] == 50 and saved["config"]["schedule"]["lr_g"] == 0.5
    decay = saved["config"]["schedule"]["lr_decay"]  # gan-ring8 decays its rates per step
    assert saved["schedule"]["opt_g"]["param_groups"][0]["lr"] == pytest.approx(0.5 * decay ** 50)
    resume = events(run, ("resume",))[-1]
    assert resume["step"] == 40 and resume["changes"] == {"schedule.lr_g": [0.001, 0.5], "train.steps": [40, 50]}
    recorded = yaml.safe_load((run / "config.yaml").read_text())
    assert recorded["run"]["resumes"][-1]["changes"]["schedule.lr_g"] == [0.001, 0.5]
    assert [e["step"] for e in events(run, ("train",))] == list(range(1, 51))


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    """A finished 30-step run that the refusal tests must leave untouched."""
    run = tmp_path_factory.mktemp("short") / "run"
    code, _, stderr = cli([*RUN[:3], "30", *RUN[4:], "--out", str(run)])
    assert code == 0, stderr
    return run


@pytest.mark.parametrize("before, after, message", [
    ([], ["--steps", "10"], "below step"),
    ([], ["--steps", "40", "--set", "network.hidden=64"], "does not fit"),
    ([], ["--out", "elsewhere"], "--out"),
    (["gan-grid25"], [], "run of 'gan-ring8'"),
])
def test_resume_refusals_are_one_line(short_run, before, after, message):
    checkpoint = (short_run / "checkpoints" / "last.pt").read_bytes()
    log = (short_run / "metrics.jsonl").read_bytes()
    code, _, stderr = cli(["run", *before, "--resume", str(short_run), *after, "--no-progress"])
    assert code == 2 and message in stderr and len(stderr.strip().splitlines()) == 1, stderr
    assert (short_run / "checkpoints" / "last.pt").read_bytes() == checkpoint
    assert (short_run / "metrics.jsonl").read_bytes() == log


def test_resume_of_a_complete_run_says_so(short_run):
    code, stdout, _ = cli(["run", "--resume", str(short_run), "--no-progress"])
    assert code == 0 and "already complete at step 30" in stdout


def test_resume_of_a_missing_directory_is_one_line(tmp_path):
    code, _, stderr = cli(["run", "--resume", str(tmp_path / "nope")])
    assert code == 2 and "not a run directory" in stderr and len(stderr.strip().splitlines()) == 1


#: A folder of 200 images in batches of 16: 12 batches an epoch, so every checkpoint (each 5 steps) is mid-epoch.
STREAM_STEPS, STREAM_EVERY, STREAM_IMAGES = 30, 5, 200


@pytest.fixture(scope="module")
def streamed_folder(tmp_path_factory):
    """200 32x32 PNGs; this module's runs keep their decoded cache beside them (XDG_CACHE_HOME)."""
    root = tmp_path_factory.mktemp("streamed")
    images = root / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(STREAM_IMAGES):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(images / f"{i:03d}.png")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(root / "cache"))
        yield images


def test_a_streamed_folder_killed_mid_epoch_resumes_bitwise(streamed_folder, tmp_path):
    """folder-dcgan32 streaming its images (resident=false, one DataLoader worker, random flips): a SIGKILL after
    step 17, a resume from the mid-epoch checkpoint, and the end state of an uninterrupted run, bit for bit."""
    sets = [f"dataset.path={streamed_folder}", "dataset.resident=false", "dataset.workers=1", "dataset.hflip=true",
            "network.g_width=4", "network.d_width=4", "network.latent_dim=8", "train.batch_size=16",
            f"train.checkpoint_every={STREAM_EVERY}", "train.log_every=1", "train.keep_last=2", "train.threads=1",
            "train.sample_every=100000", "sample.n=16", "eval.metrics=[]", "eval.primary=null"]
    argv = ["run", "folder-dcgan32", "--steps", str(STREAM_STEPS), "--no-progress",
            *[a for s in sets for a in ("--set", s)]]
    reference = tmp_path / "reference"
    code, _, stderr = cli([*argv, "--out", str(reference)])
    assert code == 0, stderr
    out = tmp_path / "run"
    proc = spawn([*argv, "--out", str(out)])
    seen = wait_for_step(proc, out, 17)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert seen >= 17, proc.stderr.read()
    killed_at = state(out / "checkpoints" / "last.pt")
    assert killed_at["step"] < STREAM_STEPS and killed_at["data"]["index"] > 0, killed_at["data"]
    code, _, stderr = cli(["run", "--resume", str(out), "--no-progress"])
    assert code == 0, stderr
    final = state(out / "checkpoints" / "last.pt")
    assert final["step"] == STREAM_STEPS and final["config"]["run"]["dataset"]["resident"] is False
    diff = bitwise_equal(training_state(state(reference / "checkpoints" / "last.pt")), training_state(final))
    assert diff == [], f"last.pt differs at {diff[:5]}"
    assert events(out) == events(reference)

