"""Exporting a run's sampling generator for other tools, and loading an export back.

Two formats. ``safetensors``: the generator's weights (EMA weights where the run kept them) plus
a JSON file beside it (same stem) naming the network, its plugin and everything needed to rebuild
it through that plugin. ``torchscript``: a traced generator in a small scripted wrapper that plain
``torch`` runs with no ganzoo installed (``torch.jit.load(path)(z[, labels])``), with the same JSON
inside the archive as ``ganzoo.json``.
"""

from __future__ import annotations

import copy
import io
import json
import warnings
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as safetensors_load
from safetensors.torch import save as safetensors_save
from torch import nn

from ganzoo import __version__
from ganzoo.checkpoint import atomic_write_bytes
from ganzoo.engine import Engine
from ganzoo.errors import GanzooError, PluginError
from ganzoo.metrics.base import generator_classes
from ganzoo.runs import LoadedRun
from ganzoo.spec import DataSpec

FORMATS = ("safetensors", "torchscript")
#: File suffix of each format's main file.
SUFFIXES = {"safetensors": ".safetensors", "torchscript": ".pt"}
#: Version of the metadata layout; a reader refuses a newer one.
FORMAT_VERSION = 1
#: Keys a safetensors export's metadata must hold to be loaded.
REQUIRED_KEYS = {"format_version", "weights", "spec", "config", "step", "network"}
#: Name of the metadata file inside a TorchScript archive.
EXTRA_FILE = "ganzoo.json"
#: torch deprecates torch.jit in favour of torch.export; TorchScript is still what plain torch loads anywhere.
_JIT_DEPRECATION = r"`torch\.jit\.\w+` is deprecated"


class ExportError(GanzooError):
    """An export that cannot be made, written or read back."""


def check_format(fmt: str) -> None:
    """Refuse a format ganzoo cannot export, naming the ones it can."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; use --format {' or '.join(FORMATS)}")


def default_export_path(run_dir: str | Path, fmt: str) -> Path:
    """Where ``ganzoo export`` writes by default: RUN_DIR/export/generator.safetensors (or .pt)."""
    return Path(run_dir) / "export" / f"generator{SUFFIXES[fmt]}"


def metadata_path(weights: Path) -> Path:
    """The JSON file beside a safetensors export: same stem, ``.json``."""
    return Path(weights).with_suffix(".json")


def export_run(run: LoadedRun, fmt: str, path: str | Path, engine: Engine) -> list[Path]:
    """Write the run's sampling generator to ``path`` in ``fmt``; returns the files written."""
    check_format(fmt)
    path = Path(path).expanduser()
    if path.is_dir():
        raise ExportError(f"{path} is a directory; name a file, e.g. {path / ('generator' + SUFFIXES[fmt])}")
    if fmt == "torchscript":
        return [save_torchscript(run, path, engine)]
    return save_safetensors(run, path, engine)


def export_metadata(run: LoadedRun, fmt: str, engine: Engine) -> dict[str, Any]:
    """What rebuilding and describing the exported generator needs: network and its plugin, data spec, step, config."""
    network = run.config["network"]
    component = engine.registry.get("networks", network["name"])
    return {
        "format": fmt,
        "format_version": FORMAT_VERSION,
        "ganzoo_version": __version__,
        "torch_version": torch.__version__,
        "experiment": run.config.get("experiment"),
        "step": run.step,
        "latent_dim": int(run.generator.latent_dim),
        "num_classes": generator_classes(run.generator),
        "spec": run.spec.to_dict(),
        "network": component.origin(),
        "config": run.config,
    }


def save_safetensors(run: LoadedRun, path: Path, engine: Engine) -> list[Path]:
    """Write the generator's weights to ``path`` and its metadata beside it, each atomically; returns both paths."""
    meta_file = metadata_path(path)
    if meta_file == Path(path):
        raise ExportError(f"-o {path} would be the metadata file; name the weights file, e.g. "
                          f"{path.with_suffix('.safetensors')}")
    meta = {**export_metadata(run, "safetensors", engine), "weights": Path(path).name}
    state = {k: v.detach().cpu().contiguous() for k, v in run.generator.state_dict().items()}
    atomic_write_bytes(safetensors_save(state, metadata={"format": "pt"}), path)
    try:
        atomic_write_bytes(_json_bytes(meta), meta_file)
    except BaseException:
        Path(path).unlink(missing_ok=True)
        raise
    return [Path(path), meta_file]


def save_torchscript(run: LoadedRun, path: Path, engine: Engine) -> Path:
    """Trace the generator, check it reproduces ganzoo's samples bitwise, and write the archive atomically."""
    sampler = trace_sampler(run.generator, run.spec, run.config["network"]["name"])
    buffer = io.BytesIO()
    meta = export_metadata(run, "torchscript", engine)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_JIT_DEPRECATION)
        torch.jit.save(sampler, buffer, _extra_files={EXTRA_FILE: _json_bytes(meta).decode()})
    atomic_write_bytes(buffer.getvalue(), path)
    return Path(path)


class UnconditionalSampler(nn.Module):
    """``m(z)`` -> samples, around a traced generator; ``latent_dim``, ``num_classes``, ``sample_shape`` and
    ``value_range`` are readable attributes of the saved module."""

    def __init__(self, traced: nn.Module, latent_dim: int, num_classes: int, spec: DataSpec) -> None:
        super().__init__()
        self.generator = traced
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.sample_shape = [int(s) for s in spec.shape]
        self.value_range = [float(v) for v in spec.value_range]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(N, latent_dim) noise -> (N, *sample_shape) samples in value_range."""
        self.check_noise(z)
        return self.generator(z)

    def check_noise(self, z: torch.Tensor) -> None:
        """Refuse noise that is not (N, latent_dim), naming the shape expected."""
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"expected noise of shape (N, {self.latent_dim})")


class ConditionalSampler(UnconditionalSampler):
    """``m(z, labels)`` -> samples of those classes (int labels in 0..num_classes-1)."""

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """(N, latent_dim) noise and (N,) int labels -> (N, *sample_shape) samples in value_range."""
        self.check_noise(z)
        return self.generator(z, labels)


class TranslationSampler(UnconditionalSampler):
    """``m(z, sources)`` -> translations of source images (N, *condition_shape) in value_range (``z`` is
    (N, latent_dim), often (N, 0)); ``condition_shape`` is a readable attribute too."""

    def __init__(self, traced: nn.Module, latent_dim: int, num_classes: int, spec: DataSpec) -> None:
        super().__init__(traced, latent_dim, num_classes, spec)
        self.condition_shape = [int(s) for s in spec.condition_shape]

    def forward(self, z: torch.Tensor, sources: torch.Tensor) -> torch.Tensor:
        """(N, latent_dim) noise and (N, *condition_shape) source images -> (N, *sample_shape) translations."""
        self.check_noise(z)
        return self.generator(z, sources)


def trace_sampler(generator: nn.Module, spec: DataSpec, network: str) -> torch.jit.ScriptModule:
    """A scripted sampler around the traced generator (eval mode, no gradients), checked bitwise against it."""
    frozen = copy.deepcopy(generator).cpu().eval().requires_grad_(False)
    latent_dim, classes = int(frozen.latent_dim), generator_classes(frozen)
    wrapper = TranslationSampler if spec.translation else ConditionalSampler if classes else UnconditionalSampler
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_JIT_DEPRECATION)
        try:
            traced = torch.jit.trace(frozen, _probe(latent_dim, classes, 2, spec), check_trace=False)
            sampler = torch.jit.script(wrapper(traced, latent_dim, classes, spec))
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
            raise ExportError(f"network {network!r} cannot be exported as TorchScript ({detail}); "
                              "use --format safetensors") from None
    _check_exact(sampler, frozen, network, _probe(latent_dim, classes, 3, spec))
    return sampler


def _probe(latent_dim: int, classes: int, n: int, spec: DataSpec) -> tuple[torch.Tensor, ...]:
    """Fixed noise (and labels 0, 1, ... for a conditional generator, random source images in the value range
    for a translation model) for tracing and checking."""
    gen = torch.Generator().manual_seed(n)
    z = torch.randn(n, latent_dim, generator=gen)
    if spec.translation:
        lo, hi = spec.value_range
        return z, torch.rand(n, *spec.condition_shape, generator=gen) * (hi - lo) + lo
    return (z, torch.arange(n) % classes) if classes else (z,)


def _check_exact(sampler: torch.jit.ScriptModule, generator: nn.Module, network: str,
                 inputs: tuple[torch.Tensor, ...]) -> None:
    """Refuse a trace whose samples differ from the eager generator's in any bit (on another batch size)."""
    with torch.no_grad():
        eager = generator(*inputs)
        traced = sampler(*inputs)
    if not torch.equal(traced, eager):
        raise ExportError(f"network {network!r} does not trace exactly: TorchScript samples differ from "
                          "ganzoo's; use --format safetensors")


def load_export(path: str | Path, device: torch.device, engine: Engine | None = None) -> LoadedRun:
    """Rebuild a safetensors export's generator (the .safetensors file or its .json) through its plugin, in eval mode."""
    path = Path(path).expanduser()
    meta_file = path if path.suffix == ".json" else metadata_path(path)
    meta = read_metadata(meta_file)
    weights = meta_file.parent / meta["weights"] if path.suffix == ".json" else path
    engine = engine or Engine()
    spec = DataSpec.from_dict(meta["spec"])
    generator = _build_generator(meta, spec, engine)
    _load_weights(generator, weights)
    return LoadedRun(weights.parent, generator.to(device).eval(), meta["config"], spec, int(meta["step"]))


def read_metadata(meta_file: Path) -> dict[str, Any]:
    """The JSON beside a safetensors export, checked for a format this ganzoo reads."""
    if not meta_file.is_file():
        raise ExportError(f"no export metadata at {meta_file}; write an export with 'ganzoo export RUN_DIR'")
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExportError(f"{meta_file} is not readable export metadata ({type(exc).__name__}); export again") from None
    if not isinstance(meta, dict) or meta.get("format") != "safetensors" or not REQUIRED_KEYS <= meta.keys() \
            or not isinstance(meta["format_version"], int):
        raise ExportError(f"{meta_file} is not the metadata of a ganzoo safetensors export; export again")
    if meta["format_version"] > FORMAT_VERSION:
        raise ExportError(f"{meta_file} was written by a newer ganzoo ({meta.get('ganzoo_version')}); upgrade ganzoo")
    return meta


def _build_generator(meta: dict[str, Any], spec: DataSpec, engine: Engine) -> nn.Module:
    """The export's generator, built by the network builder its plugin registers and checked against its
    contract (weights not loaded yet); a missing plugin is named with the command that installs it."""
    try:
        return engine.build_networks(meta["config"], spec, origin=meta["network"])[0]
    except PluginError as exc:
        raise ExportError(str(exc)) from None


def _load_weights(generator: nn.Module, weights: Path) -> None:
    """Load safetensors weights into the generator; a missing or mismatched file is one clear error."""
    try:
        state = safetensors_load(weights.read_bytes())
        generator.load_state_dict(state)
    except FileNotFoundError:
        raise ExportError(f"no weights at {weights}; keep the .safetensors file beside its .json") from None
    except (OSError, SafetensorError, RuntimeError) as exc:
        detail = f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
        raise ExportError(f"{weights} does not hold this network's weights ({detail}); export again") from None


def _json_bytes(meta: dict[str, Any]) -> bytes:
    return (json.dumps(meta, indent=2) + "\n").encode("utf-8")
