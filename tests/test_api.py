"""The Python API: the README's example runs as written; train, resume, load and evaluate from Python;
``ganzoo run`` and ``ganzoo bench`` go through the same library functions."""

from __future__ import annotations

import importlib.util
import re
import signal

import pytest
import torch
from reliability import ROOT, bitwise_equal, cli, one_thread, state, training_state  # noqa: F401 - autouse

import ganzoo
from ganzoo import api
from ganzoo.errors import ConfigError, GanzooError

#: gan-ring8 shrunk to train in about a second.
TINY = ["dataset.n=2000", "network.hidden=32", "network.d_hidden=32", "train.batch_size=32", "eval.n=200",
        "sample.n=200", "train.log_every=5", "train.checkpoint_every=5"]


def readme_example() -> str:
    """The first Python block of the README's "Python API" section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the README's Python API section has no python block"
    return match.group(1)


def test_the_readme_python_example_runs_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(readme_example(), "README.md", "exec"), {})  # noqa: S102 - the README's own code
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("300 {'modes': ")
    assert lines[1].split()[1] == "2500", "evaluate() reports its protocol: 2,500 generated samples"
    assert "rpgan" in lines[2] and "non-saturating" in lines[2]
    run_dir = tmp_path / "runs" / "ring-api"
    for name in ("config.yaml", "metrics.jsonl", "eval.json", "samples/final.png", "checkpoints/last.pt"):
        assert (run_dir / name).is_file(), name
    assert (tmp_path / "ring.png").read_bytes().startswith(b"\x89PNG")


def test_the_api_is_reachable_from_the_package_top():
    assert ganzoo.train is api.train and ganzoo.load is api.load and ganzoo.evaluate is api.evaluate
    assert ganzoo.Loss.__name__ == "Loss" and ganzoo.Schedule.__name__ == "Schedule"


def test_no_submodule_shadows_an_api_function():
    """Importing a submodule sets it as an attribute of the package: a ``ganzoo/resume.py`` turned
    ``ganzoo.resume`` into a module once the engine had loaded it, and the next call failed."""
    for name in ganzoo.API:
        assert importlib.util.find_spec(f"ganzoo.{name}") is None, f"ganzoo/{name}.py shadows ganzoo.{name}"
    importlib.import_module("ganzoo.resume_plan")
    assert all(getattr(ganzoo, name) is getattr(api, name) for name in ganzoo.API)


def test_a_config_dict_trains_and_an_interrupted_run_resumes_bitwise(tmp_path):
    """A dict experiment; a stop at step 10 (should_stop) then resume equals a run never stopped."""
    entry = {"experiment": "my-ring", "dataset": "ring8", "network": {"name": "mlp", "latent_dim": 8},
             "train": {"steps": 20}, "eval": {"metrics": ["modes"]}}
    common = {"overrides": TINY, "progress": False, "device": "cpu"}
    whole = api.train(entry, out=tmp_path / "whole", **common)
    assert whole.complete and whole.experiment == "my-ring" and whole.stopped_by is None
    assert whole.results["modes"]["protocol"]["fake_samples"] == 200
    stopped = api.train(entry, out=tmp_path / "cut", should_stop=lambda: signal.SIGTERM, **common)
    assert stopped.stopped_by == signal.SIGTERM and stopped.step == 1 and not stopped.complete
    resumed = api.resume(tmp_path / "cut", progress=False, device="cpu")
    assert resumed.step == 20 and resumed.steps_trained == 19 and resumed.results == whole.results
    assert bitwise_equal(training_state(state(tmp_path / "whole" / "checkpoints" / "last.pt")),
                         training_state(state(tmp_path / "cut" / "checkpoints" / "last.pt"))) == []
    again = api.resume(tmp_path / "cut", progress=False, device="cpu")
    assert again.steps_trained == 0 and again.complete, "a complete run comes back untouched"


def test_load_samples_in_range_with_seeds_and_refuses_labels_for_an_unconditional_model(tmp_path):
    run = api.train("gan-ring8", steps=5, overrides=TINY, out=tmp_path / "r", progress=False, device="cpu")
    generator = ganzoo.load(run, device="cpu")
    assert generator.spec.shape == (2,) and generator.num_classes == 0 and generator.latent_dim == 2
    a, b = generator.sample(50, seed=3), generator.sample(50, seed=3)
    assert a.shape == (50, 2) and torch.equal(a, b)
    assert not torch.equal(a, generator.sample(50, seed=4))
    z = generator.noise(7, seed=1)
    assert torch.equal(generator.sample(7, z=z), generator.module(z).float())
    with pytest.raises(GanzooError, match="unconditional"):
        generator.sample(4, labels=1)
    with pytest.raises(GanzooError, match="grid"):
        generator.grid(4)


def test_evaluate_needs_a_data_set_for_samples_and_a_metric_name(tmp_path):
    samples = tmp_path / "fake.npz"
    samples.write_bytes(b"")
    with pytest.raises(GanzooError, match="dataset=NAME"):
        api.evaluate(samples)
    with pytest.raises(GanzooError, match="at least one metric"):
        api.evaluate(tmp_path, metrics=[])


def test_resolve_config_and_list_components():
    name, config = api.resolve_config("gan-ring8", ["loss=hinge"])
    assert name == "gan-ring8" and config["loss"] == {"name": "hinge"}
    hinge = next(c for c in api.list_components("losses") if c["name"] == "hinge")
    assert hinge["plugin"] == "core" and hinge["distribution"] == "ganzoo"
    assert [c["name"] for c in api.list_components("experiments", "gan-ring*")] == ["gan-ring8"]
    with pytest.raises(GanzooError, match="unknown kind"):
        api.list_components("loss")
    with pytest.raises(ConfigError):
        api.resolve_config({"dataset": "ring8", "network": {"name": "mlp", "hiden": 3}})


def test_run_and_bench_start_their_runs_through_the_same_library_function(tmp_path, monkeypatch):
    calls: list[str] = []
    original = api.start

    def spy(experiment, **kwargs):
        calls.append(str(experiment))
        return original(experiment, **kwargs)

    monkeypatch.setattr(api, "start", spy)
    sets = [a for s in TINY for a in ("--set", s)]
    code, _, stderr = cli(["run", "gan-ring8", "--steps", "5", "--no-progress", "--out", str(tmp_path / "r"), *sets])
    assert code == 0, stderr
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: one\nseeds: 1\nbudget: {steps: 5}\nmetrics: [modes]\neval: {n: 200}\n"
                     "variants:\n  ring: {experiment: gan-ring8}\n", encoding="utf-8")
    bench_sets = [a for s in TINY if not s.startswith("eval.") for a in ("--set", s)]
    code, _, stderr = cli(["bench", str(suite), "--out", str(tmp_path / "b"), *bench_sets])
    assert code == 0, stderr
    assert calls == ["gan-ring8", "gan-ring8"]
