"""benchmarks/throughput.py runs end to end on tiny configurations and writes every field."""

from __future__ import annotations

import json
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import reference_loops  # noqa: E402
import throughput  # noqa: E402

TINY_RING = ["--set", "dataset.n=2000", "--set", "network.hidden=16", "--set", "network.d_hidden=16",
             "--set", "train.batch_size=32", "--set", "sample.n=64"]
RESULT_FIELDS = {"experiment", "device", "batch_size", "images_per_step", "fast_paths", "steps_per_round", "rounds",
                 "images_per_s", "per_round_images_per_s", "flops_per_image", "mm_dtype", "mm_flops_per_s",
                 "ratios", "targets", "sampling_images_per_s", "eval_n", "eval_metrics", "eval_seconds"}


def test_ring8_end_to_end_with_a_variant(tmp_path, capsys):
    out = tmp_path / "throughput.json"
    code = throughput.main(["--device", "cpu", "--experiments", "gan-ring8", "--steps", "2", "--rounds", "2",
                            "--warmup", "1", "--eval-n", "300", "--variants", "adam=foreach", *TINY_RING,
                            "--profile-dir", str(tmp_path), "--out", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    assert {"machine", "protocol", "results", "skipped", "command"} <= report.keys()
    assert {"cpu", "physical_cores", "torch", "device"} <= report["machine"].keys()
    (result,) = report["results"]
    assert RESULT_FIELDS <= result.keys()
    assert set(result["images_per_s"]) == {"ganzoo", "bare", "naive", "variant:adam=foreach"}
    assert all(v > 0 for v in result["images_per_s"].values())
    assert all(len(v) == 2 for v in result["per_round_images_per_s"].values())
    assert result["flops_per_image"] > 0 and result["mm_flops_per_s"] > 0
    assert 0 < result["ratios"]["roofline_fraction"] < 1
    assert {"ganzoo_vs_bare", "ganzoo_vs_naive", "variant:adam=foreach_vs_ganzoo"} <= result["ratios"].keys()
    assert set(result["targets"]) == {"ganzoo_vs_bare"}
    assert result["eval_metrics"] == ["modes"] and result["eval_seconds"] > 0 and result["sampling_images_per_s"] > 0
    assert ("profile" in result) == (not result["targets"]["ganzoo_vs_bare"]["met"])
    assert "gan-ring8" in capsys.readouterr().out
    summary = out.with_suffix(".md").read_text()
    assert "| gan-ring8 |" in summary and "adam=foreach" in summary and "ganzoo_vs_bare" in summary


def test_naive_loop_uses_torchvision_mnist_and_cgan_targets(tmp_path, mnist_root):
    out = tmp_path / "cgan.json"
    code = throughput.main(["--device", "cpu", "--experiments", "cgan-mnist", "--steps", "1", "--rounds", "1",
                            "--warmup", "0", "--eval-n", "0", "--set", "network.g_hidden=[16]",
                            "--set", "network.d_hidden=[16]", "--data-root", str(mnist_root), "--out", str(out)])
    assert code == 0
    (result,) = json.loads(out.read_text())["results"]
    assert set(result["targets"]) == {"ganzoo_vs_bare", "ganzoo_vs_naive"}
    assert result["eval_seconds"] is None and result["eval_metrics"] == ["fd", "conditional-accuracy"]
    from ganzoo.engine import Engine

    engine = Engine()
    config = engine.resolve("cgan-mnist")
    dataset = reference_loops.tutorial_dataset(config, None, mnist_root)
    image, label = dataset[0]
    assert type(dataset).__name__ == "MNIST" and image.shape == (1, 28, 28) and -1 <= image.min() < image.max() <= 1


@pytest.mark.parametrize("argv", [["--rounds", "0"], ["--device", "tpu"], ["--experiments", "no-such-experiment"]])
def test_bad_input_is_one_line_and_exit_2(argv, capsys):
    assert throughput.main(["--device", "cpu", *argv] if "--device" not in argv else argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error" in err
