"""Day-to-day use (issue 25): runs remember their data root; progress lines when nobody watches a terminal;
numbers beside what real data scores; runs whose loss, schedule or metric plugin is gone still sample."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from conftest import TINY_RING, run_cli

import ganzoo
from ganzoo import hookimpl
from ganzoo.cli import main
from ganzoo.engine import Engine
from ganzoo.errors import ConfigError, GanzooError
from ganzoo.export import load_export
from ganzoo.metrics.base import EvalContext, Metric, MetricResult, Reference
from ganzoo.metrics.evaluate import compute
from ganzoo.progress import PlainLines, progress_every
from ganzoo.runs import load_run

CPU = torch.device("cpu")
#: gan-ring8 shrunk to train in about a second (as ``--set`` values).
RING = [arg for arg in TINY_RING if arg != "--set"]
#: cgan-mnist shrunk to two steps, no evaluation while training.
MNIST = ["network.g_hidden=[16]", "network.d_hidden=[16]", "train.batch_size=16", "train.steps=2",
         "eval.metrics=[]", "eval.primary=null"]


def sets(overrides: list[str]) -> list[str]:
    """``--set`` arguments for a list of overrides."""
    return [arg for value in overrides for arg in ("--set", value)]


def run_config(run_dir: Path) -> dict:
    """A run's config.yaml."""
    return yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8"))


# --- runs remember where their data was ---------------------------------------------------------
def test_a_run_evaluates_and_resumes_from_the_data_root_it_recorded(tmp_path, mnist_root, monkeypatch, capsys):
    """Trained with --data-root and GANZOO_DATA elsewhere, eval and resume find the data; an explicit
    --data-root wins; a recorded root that is gone falls back to GANZOO_DATA. (In-process: only the data root
    is under test, and GANZOO_DATA is read at each call.)"""
    data, empty, run_dir = tmp_path / "data", tmp_path / "empty", tmp_path / "run"
    shutil.copytree(mnist_root / "MNIST", data / "MNIST")
    empty.mkdir()
    monkeypatch.setenv("GANZOO_DATA", str(empty))

    def cli(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    code, _, err = cli("run", "cgan-mnist", "--data-root", str(data), "--out", str(run_dir), "--no-progress",
                       *sets(MNIST + ["dataset.limit=64"]))
    assert code == 0, err
    assert run_config(run_dir)["run"]["data_root"] == str(data.resolve())

    code, out, err = cli("eval", str(run_dir), "--metrics", "conditional-accuracy", "--n", "20")
    assert code == 0, err
    assert "accuracy=" in out

    code, _, err = cli("run", "--resume", str(run_dir), "--steps", "4", "--no-progress")
    assert code == 0, err
    assert torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["step"] == 4

    code, _, err = cli("eval", str(run_dir), "--metrics", "conditional-accuracy", "--n", "20",
                       "--data-root", str(empty), "--out", str(tmp_path / "x.json"))
    assert code == 2 and str(empty) in err

    data.rename(tmp_path / "moved")
    monkeypatch.setenv("GANZOO_DATA", str(mnist_root))
    code, _, err = cli("eval", str(run_dir), "--metrics", "conditional-accuracy", "--n", "20")
    assert code == 0, err


# --- progress when nobody watches a terminal ------------------------------------------------------
def test_progress_is_plain_lines_when_stderr_is_a_pipe(tmp_path):
    """Under a pipe, a plain line per interval (0 s here: every logged step) with step/total, img/s, losses, ETA."""
    result = run_cli("run", "gan-ring8", *TINY_RING, "--steps", "30", "--set", "train.log_every=10",
                     "--out", str(tmp_path / "run"), env={"GANZOO_PROGRESS_EVERY": "0", "COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("step ")]
    assert [line.split()[1] for line in lines] == ["10/30", "20/30", "30/30"]
    for line in lines:
        assert re.fullmatch(r"step \d+/30 \(\d+%\) d_loss=\S+ g_loss=\S+ [\d,]+ img/s elapsed \S+ eta \S+", line), line
    assert "━" not in result.stderr


def test_plain_progress_waits_its_interval_and_prints_the_last_state_at_the_end(capsys):
    """Lines come at most one per interval (a fake clock); the state not yet shown is printed on flush."""
    now = [0.0]
    lines = PlainLines(total=100, start=0, every=30, clock=lambda: now[0])
    for step, t in ((10, 10.0), (20, 31.0), (30, 40.0)):
        now[0] = t
        lines.update(step, {"d_loss": 1.0, "images_per_s": 64.0})
    lines.flush()
    printed = capsys.readouterr().err.splitlines()
    assert [line.split()[1] for line in printed] == ["20/100", "30/100"]
    assert printed[0].endswith("elapsed 31s eta 2m04s")


def test_a_bad_progress_interval_is_one_line(monkeypatch):
    monkeypatch.setenv("GANZOO_PROGRESS_EVERY", "soon")
    with pytest.raises(ConfigError, match="GANZOO_PROGRESS_EVERY='soon' is not a number of seconds"):
        progress_every()


def test_the_plugins_table_wraps_between_words_at_80_columns(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["plugins"]) == 0
    text = capsys.readouterr().out
    assert all(len(line) <= 80 for line in text.splitlines())
    for word in ("least-squares,", "experiments,", "non-saturating,", "vgan-moving-mnist-64"):
        assert word in text, word


# --- numbers with their reference -----------------------------------------------------------------
def test_eval_prints_each_number_beside_what_real_data_scores(tmp_path, mnist_root, capsys):
    """fd beside the Fréchet distance of two disjoint real sets; conditional accuracy beside the evaluator's
    test accuracy; eval.json carries both in each protocol."""
    run = ganzoo.train("cgan-mnist", overrides=MNIST, out=tmp_path / "run", data_root=mnist_root, progress=False,
                       device="cpu")
    assert main(["eval", str(run.run_dir), "--metrics", "fd,conditional-accuracy", "--n", "200"]) == 0
    out = capsys.readouterr().out
    saved = json.loads((run.run_dir / "eval.json").read_text())
    fd, accuracy = saved["fd"]["protocol"]["reference"], saved["conditional-accuracy"]["protocol"]["reference"]
    assert fd["label"] == "real vs real" and fd["samples"] == 200
    assert 0 < fd["values"]["fd"] < saved["fd"]["values"]["fd"]
    assert f"fd={saved['fd']['values']['fd']:.4g} (real vs real: {fd['values']['fd']:.4g})" in out
    test_accuracy = saved["conditional-accuracy"]["protocol"]["evaluator_test_accuracy"]
    assert accuracy["values"] == {"accuracy": test_accuracy}
    assert f"(evaluator test accuracy: {test_accuracy:.4g})" in out


def test_the_modes_reference_is_what_real_samples_score(tmp_path):
    run = ganzoo.train("gan-ring8", steps=5, overrides=RING, out=tmp_path / "run", progress=False, device="cpu")
    reference = run.results["modes"]["protocol"]["reference"]
    assert reference["label"] == "real" and reference["samples"] == 200
    assert reference["values"]["modes"] == 8 and reference["values"]["high_quality"] > 0.95
    assert set(reference["values"]) == {"modes", "high_quality", "reverse_kl"}


class CountedReference:
    """A plugin with a points metric whose reference counts how often it is computed."""

    __name__ = "counted"

    def __init__(self) -> None:
        self.calls, self.outputs = 0, ("mean",)

    def score(self, ctx: EvalContext) -> MetricResult:
        fake, _ = ctx.fake()
        return MetricResult({o: float(fake.mean()) for o in self.outputs},
                            {"name": "mean", "fake_samples": len(fake), "seed": ctx.seed})

    def reference(self, ctx: EvalContext, result: MetricResult) -> Reference:
        self.calls += 1
        return Reference("real", {o: float(ctx.real_pair().fake()[0].mean()) for o in self.outputs}, ctx.n)

    @hookimpl
    def ganzoo_metrics(self, register):
        register("counted-mean", Metric(self.score, kinds=("points",), reference=self.reference), "a mean")


def test_references_are_computed_once_per_protocol_and_cached(tmp_path):
    plugin = CountedReference()
    engine = Engine(extra_plugins=[plugin])
    real = engine.load_data({"dataset": {"name": "ring8", "n": 1000}}, "test", tmp_path)

    def results(seed: int, n: int = 100) -> dict:
        ctx = EvalContext(spec=real.spec, real=real, sample=lambda k, labels: torch.zeros(k, 2), n=n, seed=seed,
                          device=CPU, dataset={"name": "ring8", "n": 1000}, cache_dir=tmp_path, split="test")
        return compute(engine, ["counted-mean"], ctx)["counted-mean"]["protocol"]["reference"]

    first, again = results(0), results(0)
    assert plugin.calls == 1 and first == again and first["values"]["mean"] != 0
    assert len(list((tmp_path / "evaluators" / "references").glob("*.json"))) == 1
    results(1)
    results(0, n=50)
    assert plugin.calls == 3
    plugin.outputs = ("mean", "mean_again")  # a new version of the metric with one more output
    assert set(results(0)["values"]) == {"mean", "mean_again"} and plugin.calls == 4


def test_the_real_pair_is_disjoint_from_the_real_subset_and_as_large():
    real = Engine().load_data({"dataset": {"name": "ring8", "n": 300}}, "test", Path("."))
    ctx = EvalContext(spec=real.spec, real=real, sample=lambda k, labels: torch.zeros(k, 2), n=200, seed=3,
                      device=CPU, dataset={"name": "ring8"}, cache_dir=Path("."))
    pair = ctx.real_pair()
    a, b = pair.real_subset().x, pair.fake()[0]
    assert len(a) == len(b) == 150
    assert not (a[:, None, :] == b[None, :, :]).all(-1).any()


# --- runs whose plugin is gone ---------------------------------------------------------------------
def hinge():
    """A loss of a plugin that will be uninstalled."""
    from ganzoo_plugins.losses import Hinge

    return Hinge()


def build_mlp(spec, latent_dim: int = 8, hidden: int = 32, d_hidden: int = 32):
    """A network of a plugin that will be uninstalled."""
    from ganzoo_plugins.mlp import build_mlp as build

    return build(spec, latent_dim=latent_dim, hidden=hidden, d_hidden=d_hidden)


def mean_of_samples(ctx: EvalContext) -> MetricResult:
    """A metric of a plugin that will be uninstalled."""
    return MetricResult({"mean": float(ctx.fake()[0].mean())}, {"name": "mean"})


class GonePlugin:
    """A plugin that registers a loss, a network and a metric, then goes away."""

    __name__ = "gone"
    __distribution__ = "ganzoo-gone"

    @hookimpl
    def ganzoo_losses(self, register):
        register("gone-hinge", hinge, "hinge, from a plugin that will be uninstalled")

    @hookimpl
    def ganzoo_networks(self, register):
        register("gone-mlp", build_mlp, "an MLP from a plugin that will be uninstalled")

    @hookimpl
    def ganzoo_metrics(self, register):
        register("gone-mean", Metric(mean_of_samples, kinds=("points",)), "a mean")


def train_with(tmp_path: Path, name: str, overrides: list[str]) -> Path:
    """A tiny gan-ring8 run trained with the GonePlugin installed; returns its directory."""
    run = ganzoo.train("gan-ring8", steps=3, overrides=RING + overrides, out=tmp_path / name, progress=False,
                       device="cpu", engine=Engine(extra_plugins=[GonePlugin()]))
    return run.run_dir


def test_a_run_whose_loss_and_metric_plugin_is_gone_samples_evaluates_and_exports(tmp_path, capsys):
    run_dir = train_with(tmp_path, "run", ["loss=gone-hinge", "eval.metrics=[modes,gone-mean]"])
    assert main(["sample", str(run_dir), "-o", str(tmp_path / "points.png")]) == 0
    assert (tmp_path / "points.png").is_file()
    assert main(["export", str(run_dir)]) == 0
    exported = load_export(run_dir / "export" / "generator.safetensors", CPU, Engine())
    loaded = load_run(run_dir, CPU, Engine())
    z = torch.randn(4, loaded.generator.latent_dim)
    assert torch.equal(exported.generator(z), loaded.generator(z))
    capsys.readouterr()
    results = ganzoo.evaluate(run_dir, engine=Engine())
    assert list(results) == ["modes"]
    assert "metric 'gone-mean' of this run is not installed" in capsys.readouterr().err


def test_a_run_whose_network_plugin_is_gone_names_what_to_install(tmp_path, capsys):
    run_dir = train_with(tmp_path, "run", ["network=gone-mlp"])
    assert run_config(run_dir)["run"]["network"] == {"name": "gone-mlp", "plugin": "gone",
                                                     "distribution": "ganzoo-gone", "version": "local"}
    with pytest.raises(GanzooError, match=r"'ganzoo install ganzoo-gone==local'"):
        ganzoo.load(run_dir, "cpu", engine=Engine())
    capsys.readouterr()
    assert main(["sample", str(run_dir)]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "plugin gone (ganzoo-gone local), which is not installed" in error


class GlobalRandomMetric:
    """A plugin whose points metric draws from torch's global generator, as a data set loader might."""

    __name__ = "global-random"

    @hookimpl
    def ganzoo_metrics(self, register):
        register("global-draw", Metric(lambda ctx: MetricResult({"draw": float(torch.rand(()))}, {"name": "draw"}),
                                       kinds=("points",), goals={"draw": "max"}),
                 "a draw from the global generator")


def test_how_often_a_run_evaluates_does_not_change_what_it_trains(tmp_path):
    engine = Engine(extra_plugins=[GlobalRandomMetric()])

    def generator_after(every: int) -> dict:
        run = ganzoo.train("gan-ring8", steps=40, seed=0, out=tmp_path / f"every{every}", progress=False, device="cpu",
                           engine=engine, overrides=[*RING, "eval.metrics=[global-draw]",
                                                     "eval.primary=global-draw.draw", f"eval.every={every}"])
        return ganzoo.load(run).module.state_dict()

    often, once = generator_after(10), generator_after(40)
    assert often.keys() == once.keys()
    assert all(torch.equal(often[k], once[k]) for k in often)
