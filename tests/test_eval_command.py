"""``ganzoo eval`` on runs and on external samples: eval.json with protocols, and one-line errors for bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ganzoo.cli import main

TINY_MNIST = ["--steps", "3", "--set", "dataset.limit=300", "--set", "eval.n=150", "--set", "train.batch_size=32",
              "--set", "sample.n=10", "--no-progress", "--device", "cpu"]


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run the ganzoo CLI in this process; returns (exit code, stdout, stderr)."""
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def runs(tmp_path_factory, mnist_root):
    """A 3-step unconditional (gan-mnist) and conditional (cgan-mnist) run with their registry metrics, trained once."""
    base = tmp_path_factory.mktemp("runs")
    for name in ("gan-mnist", "cgan-mnist"):
        assert main(["run", name, "--out", str(base / name), "--data-root", str(mnist_root), *TINY_MNIST]) == 0
    return base


@pytest.fixture(scope="module")
def real_npz(tmp_path_factory, engine, mnist_root):
    """300 real test digits as uint8 with their labels, the way an outside GAN would save samples."""
    test = engine.load_data({"dataset": {"name": "mnist"}}, "test", mnist_root)
    x = ((test.floats()[-300:] + 1) * 127.5).round().to(torch.uint8).numpy()
    path = tmp_path_factory.mktemp("samples") / "real.npz"
    np.savez(path, x=x[:, 0], labels=test.y[-300:].numpy())
    return path


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ganzoo: error: ") and "Traceback" not in err
    return lines[0]


def test_training_evaluates_the_registry_metrics(runs):
    """The MNIST experiments' eval blocks run at the end of training, into metrics.jsonl and eval.json."""
    for name, keys in (("gan-mnist", {"fd.fd"}), ("cgan-mnist", {"fd.fd", "conditional-accuracy.accuracy"})):
        events = [json.loads(line) for line in (runs / name / "metrics.jsonl").read_text().splitlines()]
        final = [e for e in events if e["event"] == "eval"][-1]
        assert final["step"] == 3 and keys <= set(final)
        assert final["fd.fd"] > 0 and all(0 <= final[k] <= 1 for k in keys - {"fd.fd"})


def test_eval_writes_every_metric_with_its_protocol(runs, mnist_root, capsys):
    run = runs / "gan-mnist"
    code, out, _ = cli(capsys, "eval", str(run), "--metrics", "fd,kid,prdc,classifier-score", "--n", "200",
                       "--seed", "1", "--json", "--data-root", str(mnist_root), "--device", "cpu")
    assert code == 0
    printed, written = json.loads(out), json.loads((run / "eval.json").read_text())
    assert printed == written and set(written) == {"fd", "kid", "prdc", "classifier-score"}
    for result in written.values():
        p = result["protocol"]
        assert p["evaluator"] == "mnist-cnn-v1" and len(p["evaluator_sha256"]) == 64
        assert p["split"] == "test" and p["seed"] == 1 and p["fake_samples"] == 200 and p["step"] == 3
        assert p["ganzoo_version"] and p["evaluator_test_accuracy"] >= 0.98
    assert written["fd"]["protocol"]["real_samples"] == 200
    assert written["fd"]["values"]["fd"] > 1.0  # three training steps make noise, not digits
    code, out_again, _ = cli(capsys, "eval", str(run), "--metrics", "fd", "--n", "200", "--seed", "1", "--json",
                             "--data-root", str(mnist_root), "--device", "cpu")
    assert json.loads(out_again)["fd"]["values"] == written["fd"]["values"]


def test_conditional_accuracy_of_a_conditional_run(runs, mnist_root, capsys):
    code, out, _ = cli(capsys, "eval", str(runs / "cgan-mnist"), "--metrics", "conditional-accuracy", "--n", "150",
                       "--json", "--data-root", str(mnist_root), "--device", "cpu", "--out", str(runs / "c.json"))
    assert code == 0
    result = json.loads(out)["conditional-accuracy"]
    assert 0.0 <= result["values"]["accuracy"] <= 1.0 and result["protocol"]["fake_samples"] == 150
    assert json.loads((runs / "c.json").read_text()) == json.loads(out)


@pytest.mark.parametrize("args, message", [
    (["--metrics", "fdd"], "unknown metric 'fdd'; did you mean fd"),
    (["--metrics", "conditional-accuracy"], "needs a conditional model"),
    (["--metrics", "fd", "--n", "50"], "needs more samples than dimensions"),
    (["--metrics", "modes"], "applies to points data"),
    (["--metrics", "fid-inception"], "needs RGB images"),
])
def test_bad_metric_requests_fail_with_one_line_and_write_nothing(runs, mnist_root, capsys, args, message):
    out = runs / "bad.json"
    code, _, err = cli(capsys, "eval", str(runs / "gan-mnist"), *args, "--data-root", str(mnist_root),
                       "--device", "cpu", "--out", str(out))
    assert code == 2 and message in one_error_line(err)
    assert not out.exists()


def test_external_samples_are_scored_under_the_same_protocol(real_npz, mnist_root, capsys):
    code, out, _ = cli(capsys, "eval", "--samples", str(real_npz), "--dataset", "mnist", "--json",
                       "--metrics", "fd,conditional-accuracy", "--data-root", str(mnist_root), "--device", "cpu")
    assert code == 0
    results = json.loads(out)
    assert results["conditional-accuracy"]["values"]["accuracy"] >= 0.95  # real digits, true labels
    assert results["fd"]["protocol"]["fake_samples"] == 300 and results["fd"]["protocol"]["samples"] == str(real_npz)
    assert json.loads(real_npz.with_name("real.eval.json").read_text()) == results


def test_a_folder_of_images_is_scored(real_npz, mnist_root, tmp_path, capsys):
    from PIL import Image

    with np.load(real_npz) as npz:
        for i, img in enumerate(npz["x"][:40]):
            Image.fromarray(img).save(tmp_path / f"{i:03d}.png")
    code, out, _ = cli(capsys, "eval", "--samples", str(tmp_path), "--dataset", "mnist", "--metrics", "prdc",
                       "--json", "--data-root", str(mnist_root), "--device", "cpu")
    assert code == 0
    assert json.loads(out)["prdc"]["values"]["precision"] >= 0.8
    assert (tmp_path / "eval.json").is_file()


@pytest.mark.parametrize("array, message", [
    (np.zeros((20, 28, 27), np.uint8), "do not fit the data set's images"),
    (np.full((20, 1, 28, 28), 255.0, np.float32), "outside the data set's range"),
    (np.zeros((20, 1, 28, 28), np.int32), "not images"),
])
def test_bad_samples_fail_with_one_line(tmp_path, mnist_root, capsys, array, message):
    path = tmp_path / "s.npz"
    np.savez(path, x=array)
    code, _, err = cli(capsys, "eval", "--samples", str(path), "--dataset", "mnist", "--metrics", "prdc",
                       "--data-root", str(mnist_root), "--device", "cpu")
    assert code == 2 and message in one_error_line(err)
    assert not (tmp_path / "s.eval.json").exists()


def test_eval_needs_a_run_or_samples(capsys, tmp_path):
    code, _, err = cli(capsys, "eval")
    assert code == 2 and "pass either a run directory or --samples" in one_error_line(err)
    code, _, err = cli(capsys, "eval", str(tmp_path / "nope"), "--metrics", "fd")
    assert code == 2 and "not a run directory" in one_error_line(err)
