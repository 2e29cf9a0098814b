"""A metric that cannot be computed during training stops the run with one line, and keeps what was trained."""

from __future__ import annotations

import json

from ganzoo.cli import main

TINY = ["--set", "dataset.limit=300", "--set", "train.batch_size=32", "--set", "sample.n=10",
        "--set", "train.checkpoint_every=100", "--no-progress", "--device", "cpu"]
#: 50 samples are too few for the Fréchet distance of the evaluator's 128 features.
TOO_FEW = ["--set", "eval.n=50"]


def error_line(capsys) -> str:
    """The one error line that ends stderr (after the run's 'training ... ->' line)."""
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and err.strip().splitlines()[-1] == errors[0] and "Traceback" not in err
    assert errors[0].startswith("ganzoo: error: ")
    return errors[0]


def steps_in(run_dir) -> list[str]:
    return sorted(p.name for p in (run_dir / "checkpoints").glob("step_*.pt"))


def test_a_failing_periodic_evaluation_checkpoints_its_step_and_the_run_resumes(tmp_path, mnist_root, capsys):
    run = tmp_path / "run"
    code = main(["run", "gan-mnist", "--out", str(run), "--data-root", str(mnist_root), "--steps", "8",
                 "--set", "eval.every=4", *TOO_FEW, *TINY])
    line = error_line(capsys)
    assert code == 2 and "needs more samples than dimensions" in line
    assert "evaluation at step 4" in line and "--resume" in line
    # checkpoint_every is 100: without the failure's own checkpoint, the 4 trained steps would be lost.
    assert steps_in(run) == ["step_000004.pt"]
    assert not (run / "eval.json").exists()

    assert main(["run", "--resume", str(run), "--set", "eval.n=150", "--no-progress", "--device", "cpu"]) == 0
    capsys.readouterr()
    assert "step_000008.pt" in steps_in(run)
    assert set(json.loads((run / "eval.json").read_text())) == {"fd"}


def test_a_failing_final_evaluation_keeps_the_trained_weights_for_ganzoo_eval(tmp_path, mnist_root, capsys):
    run = tmp_path / "run"
    code = main(["run", "gan-mnist", "--out", str(run), "--data-root", str(mnist_root), "--steps", "3",
                 *TOO_FEW, *TINY])
    line = error_line(capsys)
    assert code == 2 and "evaluation at step 3" in line and "ganzoo eval" in line
    assert steps_in(run) == ["step_000003.pt"]

    assert main(["eval", str(run), "--n", "150", "--data-root", str(mnist_root), "--device", "cpu", "--json"]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert scored["fd"]["protocol"]["fake_samples"] == 150 and scored["fd"]["values"]["fd"] > 0
