"""``ganzoo export``: a safetensors export rebuilds through ``load_export`` to bitwise the same samples; a
TorchScript export samples bitwise the same in a process that never imports ganzoo; bad input exits 2 with
one line and leaves no file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

import ganzoo
from ganzoo.api import TrainedGenerator
from ganzoo.cli import main
from ganzoo.commands.sample import sample_labels
from ganzoo.export import ExportError, export_run, load_export, trace_sampler
from ganzoo.metrics.base import generator_classes
from ganzoo.runs import LoadedRun, load_run
from ganzoo.spec import DataSpec

CPU = torch.device("cpu")
#: Tiny two-step runs: unconditional with EMA weights, and conditional.
RUNS = {
    "gan-ring8": ["dataset.n=256", "network.hidden=16", "network.d_hidden=16", "network.latent_dim=8",
                  "train.batch_size=32", "train.steps=3", "schedule.ema_decay=0.5"],
    "cgan-mnist": ["dataset.limit=64", "network.g_hidden=[16]", "network.d_hidden=[16]", "train.batch_size=16",
                   "train.steps=2"],
}
#: Every built-in network family, tiny: (network, data spec, parameters).
FAMILIES = {
    "mlp-points": ("mlp", DataSpec((2,), 0, (-1.04, 1.04)), {"latent_dim": 8, "hidden": 16}),
    "mlp-image": ("mlp", DataSpec((1, 28, 28)), {"latent_dim": 8, "hidden": 16, "batchnorm": True}),
    "cgan": ("cgan", DataSpec((1, 28, 28), 10), {"latent_dim": 8, "embed_dim": 4, "g_hidden": [16, 16],
                                                 "d_hidden": [16]}),
    "dcgan-paper": ("dcgan", DataSpec((1, 28, 28)), {"latent_dim": 8, "width": 4, "layout": "paper"}),
    "dcgan-tutorial": ("dcgan", DataSpec((1, 28, 28)), {"latent_dim": 8, "width": 4, "layout": "tutorial"}),
    "cdcgan-paper": ("cdcgan", DataSpec((1, 28, 28), 10), {"latent_dim": 8, "embed_dim": 4, "width": 4,
                                                           "layout": "paper"}),
    "cdcgan-tutorial": ("cdcgan", DataSpec((1, 28, 28), 10), {"latent_dim": 8, "embed_dim": 4, "width": 4,
                                                              "layout": "tutorial"}),
    "dcgan64": ("dcgan64", DataSpec((1, 64, 64)), {"latent_dim": 8, "g_width": 4, "d_width": 2}),
    "vgan-resize": ("vgan", DataSpec((1, 8, 16, 16)), {"latent_dim": 8, "width": 4, "d_width": 4, "base_frames": 1,
                                                       "output_upsampling": "resize", "inner_upsampling": "resize"}),
    "vgan-transposed": ("vgan", DataSpec((1, 8, 16, 16)), {"latent_dim": 8, "width": 4, "d_width": 4}),
}
#: A Python that refuses any ganzoo module: it imports torch, waits for a line on stdin, then samples from
#: each TorchScript file named in its inputs and saves the samples, the module attributes and which ganzoo
#: modules it tried to import or holds.
PLAIN_TORCH = r"""
import sys

class NoGanzoo:
    attempts = []

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("ganzoo", "ganzoo_plugins"):
            self.attempts.append(name)
            raise ImportError(name + " must not be imported")
        return None

sys.meta_path.insert(0, NoGanzoo())
import torch

sys.stdin.readline()
results = {}
for name, item in torch.load(sys.argv[1], weights_only=True).items():
    m = torch.jit.load(item["path"])
    with torch.no_grad():
        x = m(item["z"]) if item["labels"] is None else m(item["z"], item["labels"])
    results[name] = {"x": x, "latent_dim": m.latent_dim, "num_classes": m.num_classes,
                     "sample_shape": list(m.sample_shape)}
loaded = [k for k in sys.modules if k.split(".")[0] in ("ganzoo", "ganzoo_plugins")]
results["imports"] = {"attempts": NoGanzoo.attempts, "loaded": loaded}
torch.save(results, sys.argv[2])
"""


def flag_args(sets: list[str]) -> list[str]:
    """--set KEY=VALUE for each override."""
    return [a for s in sets for a in ("--set", s)]


@pytest.fixture(scope="module")
def runs(mnist_root, tmp_path_factory) -> dict[str, Path]:
    """The tiny runs of RUNS, trained in this process, each exported in both formats to the default paths."""
    made = {}
    for experiment, sets in RUNS.items():
        run_dir = tmp_path_factory.mktemp("runs") / experiment
        sets = [*sets, "eval.metrics=[]", "eval.primary=null", "sample.n=16"]
        args = ["run", experiment, "--data-root", str(mnist_root), "--out", str(run_dir), "--no-progress"]
        assert main(args + flag_args(sets)) == 0
        assert main(["export", str(run_dir)]) == 0
        assert main(["export", str(run_dir), "--format", "torchscript"]) == 0
        made[experiment] = run_dir
    return made


def tiny_run(engine, key: str, directory: Path) -> LoadedRun:
    """A LoadedRun holding a freshly built generator of one family, its BatchNorm statistics those of a few batches."""
    name, spec, params = FAMILIES[key]
    torch.manual_seed(0)
    generator = engine.registry.get("networks", name).obj(spec, **params)[0]
    config = {"experiment": f"tiny-{key}", "network": {"name": name, **params}}
    run = LoadedRun(directory, generator.train(), config, spec, 0)
    for seed in range(3):
        samples(run, *noise(run, 8, seed))
    generator.eval()
    return run


@pytest.fixture(scope="module")
def families(engine, tmp_path_factory) -> dict[str, LoadedRun]:
    """Every family of FAMILIES, exported in both formats under the run's directory (export/generator.*)."""
    made = {}
    for key in FAMILIES:
        run = tiny_run(engine, key, tmp_path_factory.mktemp(key))
        for fmt, suffix in (("safetensors", ".safetensors"), ("torchscript", ".pt")):
            export_run(run, fmt, run.run_dir / "export" / f"generator{suffix}", engine)
        made[key] = run
    return made


def noise(run: LoadedRun, n: int = 7, seed: int = 11) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Noise for n samples and labels cycling through the classes (None for an unconditional generator)."""
    z = torch.randn(n, run.generator.latent_dim, generator=torch.Generator().manual_seed(seed))
    classes = generator_classes(run.generator)
    return z, (torch.arange(n) % classes if classes else None)


def samples(run: LoadedRun, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """ganzoo's samples for that noise (``ganzoo.load(...).sample``)."""
    return TrainedGenerator(run, CPU).sample(len(z), labels, z=z)


def loaded_runs(runs: dict[str, Path]) -> dict[str, LoadedRun]:
    """The trained runs' sampling generators, loaded by ``ganzoo.load``."""
    return {name: ganzoo.load(run_dir, CPU).loaded for name, run_dir in runs.items()}


@pytest.fixture(scope="module", autouse=True)
def plain_torch_process(tmp_path_factory):
    """The PLAIN_TORCH process and its folder, started first so that its torch import overlaps the training."""
    tmp = tmp_path_factory.mktemp("plain-torch")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    proc = subprocess.Popen([sys.executable, "-I", "-c", PLAIN_TORCH, str(tmp / "inputs.pt"), str(tmp / "out.pt")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp, env=env)
    yield proc, tmp
    proc.kill()
    proc.communicate()


@pytest.fixture(scope="module")
def plain_torch(runs, families, plain_torch_process) -> tuple[dict, dict]:
    """(what ganzoo gives, what the plain-torch process read and sampled) for every TorchScript export, same noise."""
    proc, tmp = plain_torch_process
    sources = {**{f"run:{k}": v for k, v in loaded_runs(runs).items()}, **families}
    inputs, expected = {}, {}
    for name, run in sources.items():
        z, labels = noise(run)
        inputs[name] = {"path": str(run.run_dir / "export" / "generator.pt"), "z": z, "labels": labels}
        expected[name] = {"x": samples(run, z, labels), "latent_dim": run.generator.latent_dim,
                          "num_classes": generator_classes(run.generator), "sample_shape": list(run.spec.shape)}
    torch.save(inputs, tmp / "inputs.pt")
    _, stderr = proc.communicate("go\n", timeout=300)
    assert proc.returncode == 0, stderr
    return expected, torch.load(tmp / "out.pt", weights_only=True)


@pytest.mark.parametrize("experiment", RUNS)
def test_safetensors_round_trip_samples_bitwise(runs, experiment):
    """load_export (and ganzoo.load of the file) rebuilds the run's sampling generator: same samples as the run
    for the same seed and labels."""
    original = load_run(runs[experiment], CPU)
    exported = load_export(runs[experiment] / "export" / "generator.safetensors", CPU)
    classes = generator_classes(original.generator)
    labels = sample_labels(20, 10, classes, None)
    expected = ganzoo.load(runs[experiment], CPU).sample(20, labels, seed=3)
    assert torch.equal(TrainedGenerator(exported, CPU).sample(20, labels, seed=3), expected)
    assert torch.equal(ganzoo.load(runs[experiment] / "export" / "generator.safetensors", CPU).sample(
        20, labels, seed=3), expected)
    assert not exported.generator.training and exported.step == original.step
    assert exported.spec == original.spec and exported.config == original.config


def test_metadata_names_the_network_plugin_and_spec(runs):
    """The JSON beside the weights says what rebuilding needs and where the network comes from."""
    meta = json.loads((runs["cgan-mnist"] / "export" / "generator.json").read_text())
    assert meta["format"] == "safetensors" and meta["format_version"] == 1
    assert meta["weights"] == "generator.safetensors" and meta["experiment"] == "cgan-mnist"
    assert meta["network"] == {"name": "cgan", "plugin": "cgan", "distribution": "ganzoo",
                               "version": meta["ganzoo_version"]}
    assert meta["spec"] == {"shape": [1, 28, 28], "num_classes": 10, "value_range": [-1.0, 1.0]}
    assert (meta["latent_dim"], meta["num_classes"], meta["step"]) == (100, 10, 2)
    assert meta["config"]["network"]["g_hidden"] == [16]


def test_ema_weights_are_exported(runs):
    """A run that kept EMA weights exports them, not the raw generator's."""
    from safetensors.torch import load_file

    exported = load_file(runs["gan-ring8"] / "export" / "generator.safetensors")
    raw = torch.load(runs["gan-ring8"] / "checkpoints" / "last.pt", weights_only=True)["generator"]
    assert exported.keys() == raw.keys()
    assert any(not torch.equal(exported[k], raw[k]) for k in raw)


@pytest.mark.parametrize("key", FAMILIES)
def test_every_family_round_trips_through_safetensors(engine, families, key):
    """Each built-in family rebuilds from its safetensors export to bitwise the same samples."""
    run = families[key]
    exported = load_export(run.run_dir / "export" / "generator.json", CPU, engine)
    z, labels = noise(run)
    expected = samples(run, z, labels)
    assert not torch.equal(expected[0], expected[1])  # samples that vary with z, so the comparison means something
    assert torch.equal(samples(exported, z, labels), expected)


@pytest.mark.parametrize("name", [f"run:{k}" for k in RUNS] + list(FAMILIES))
def test_torchscript_samples_bitwise_in_plain_torch(plain_torch, name):
    """torch.jit.load(path)(z[, labels]) in a process without ganzoo gives ganzoo's samples bit for bit, and the
    module's latent_dim, num_classes and sample_shape."""
    expected, results = plain_torch
    assert torch.equal(results[name]["x"], expected[name]["x"])
    assert all(results[name][k] == expected[name][k] for k in ("latent_dim", "num_classes", "sample_shape"))


def test_plain_torch_process_never_imported_ganzoo(plain_torch):
    """The process that loaded the TorchScript files neither tried to import ganzoo nor holds any of it."""
    assert plain_torch[1]["imports"] == {"attempts": [], "loaded": []}


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated")
def test_torchscript_carries_metadata(runs):
    """The archive holds the export metadata as ganzoo.json."""
    extra = {"ganzoo.json": ""}
    torch.jit.load(runs["gan-ring8"] / "export" / "generator.pt", _extra_files=extra)
    meta = json.loads(extra["ganzoo.json"])
    assert meta["format"] == "torchscript" and meta["network"]["name"] == "mlp" and meta["step"] == 3


def test_output_paths_are_printed(runs, tmp_path, capsys):
    """-o names the weights file; the JSON goes beside it; each written path is printed."""
    target = tmp_path / "out" / "ring.safetensors"
    assert main(["export", str(runs["gan-ring8"]), "-o", str(target)]) == 0
    assert capsys.readouterr().out.split() == [str(target), str(target.with_suffix(".json"))]
    assert sorted(p.name for p in target.parent.iterdir()) == ["ring.json", "ring.safetensors"]


class NoisyGenerator(nn.Module):
    """A generator that draws its own noise, so no two calls agree."""

    latent_dim = 4

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """z plus fresh noise."""
        return z + torch.randn_like(z)


class ListGenerator(NoisyGenerator):
    """A generator that returns a Python list, which tracing cannot record."""

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> list:
        """z as nested lists."""
        return z.tolist()


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
@pytest.mark.parametrize("generator, message", [(NoisyGenerator(), "does not trace exactly"),
                                                (ListGenerator(), "cannot be exported as TorchScript")])
def test_untraceable_generators_are_refused(generator, message):
    """A generator TorchScript cannot reproduce exactly is one ExportError pointing at safetensors."""
    with pytest.raises(ExportError, match=message) as info:
        trace_sampler(generator, DataSpec((4,)), "odd")
    assert "--format safetensors" in str(info.value) and "\n" not in str(info.value)


def files_under(path: Path) -> dict[str, int]:
    """Every file below path with its size."""
    return {str(p.relative_to(path)): p.stat().st_size for p in path.rglob("*") if p.is_file()}


@pytest.mark.parametrize("case, args, message", [
    ("not-a-run", [], "is not a run directory"),
    ("run", ["--checkpoint", "missing.pt"], "no checkpoint at"),
    ("run", ["--format", "onnx"], "unknown export format 'onnx'"),
    ("run", ["-o", "{tmp}/a-file/generator.pt", "--format", "torchscript"], "could not write"),
    ("run", ["-o", "{tmp}"], "is a directory"),
    ("run", ["-o", "{tmp}/generator.json"], "would be the metadata file"),
])
def test_bad_input_is_one_line_and_writes_nothing(runs, tmp_path, capsys, case, args, message):
    """Each bad request exits 2 with one line on stderr; neither the run nor the output folder gains a file."""
    (tmp_path / "a-file").write_text("not a folder")
    run = runs["gan-ring8"] if case == "run" else tmp_path / "nothing-here"
    before_run, before_tmp = files_under(runs["gan-ring8"]), files_under(tmp_path)
    assert main(["export", str(run), *[a.format(tmp=tmp_path) for a in args]]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert files_under(runs["gan-ring8"]) == before_run and files_under(tmp_path) == before_tmp


def test_failed_metadata_write_leaves_no_weights(runs, tmp_path, monkeypatch):
    """When the JSON cannot be written, the weights written just before are removed too."""
    import ganzoo.export as export
    from ganzoo.errors import RunDirError

    write = export.atomic_write_bytes

    def fail_on_json(data: bytes, path: Path) -> None:
        if Path(path).suffix == ".json":
            raise RunDirError(f"could not write {path}")
        write(data, path)

    monkeypatch.setattr(export, "atomic_write_bytes", fail_on_json)
    assert main(["export", str(runs["gan-ring8"]), "-o", str(tmp_path / "g.safetensors")]) == 2
    assert list(tmp_path.iterdir()) == []


def copied_export(run_dir: Path, tmp_path: Path) -> Path:
    """A copy of a run's safetensors export (weights and JSON) in tmp_path; returns the JSON's path."""
    for name in ("generator.safetensors", "generator.json"):
        shutil.copy(run_dir / "export" / name, tmp_path / name)
    return tmp_path / "generator.json"


def test_missing_network_plugin_names_what_to_install(runs, tmp_path):
    """An export whose network no installed plugin provides says which distribution to install."""
    meta_file = copied_export(runs["gan-ring8"], tmp_path)
    meta = json.loads(meta_file.read_text())
    meta["config"]["network"]["name"] = "stylegan2"
    meta["network"] = {"name": "stylegan2", "plugin": "stylegan", "distribution": "ganzoo-stylegan", "version": "0.2.0"}
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(ExportError, match="ganzoo install ganzoo-stylegan") as info:
        load_export(tmp_path / "generator.safetensors", CPU)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("damage, message", [("truncate", "does not hold this network's weights"),
                                             ("drop-weights", "no weights at"),
                                             ("drop-json", "no export metadata at")])
def test_damaged_export_is_one_clear_error(runs, tmp_path, damage, message):
    """A truncated or missing weights file, or a missing JSON, is one ExportError saying what to do."""
    copied_export(runs["cgan-mnist"], tmp_path)
    weights = tmp_path / "generator.safetensors"
    if damage == "truncate":
        weights.write_bytes(weights.read_bytes()[:200])
    else:
        (weights if damage == "drop-weights" else tmp_path / "generator.json").unlink()
    with pytest.raises(ExportError, match=message):
        load_export(tmp_path / "generator.json" if damage == "drop-weights" else weights, CPU)
