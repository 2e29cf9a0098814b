"""ganzoo's Python API: train, resume, load, evaluate, and what the plugins registered.

``ganzoo run``, ``ganzoo sample``, ``ganzoo eval`` and ``ganzoo bench`` are thin callers of these
functions; a notebook uses them the same way::

    import ganzoo

    run = ganzoo.train("gan-ring8", steps=300, out="runs/ring")
    generator = ganzoo.load(run)
    points = generator.sample(1000, seed=0)
    results = ganzoo.evaluate(run, metrics=["modes"], n=2500)

Errors are ``ganzoo.errors.GanzooError`` subclasses whose message is one line that says what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from ganzoo.errors import GanzooError
from ganzoo.lifecycle import Echo, Run, echo_stderr

if TYPE_CHECKING:
    import torch

    from ganzoo.config import ResolvedConfig
    from ganzoo.engine import Engine
    from ganzoo.runs import LoadedRun
    from ganzoo.spec import DataSpec
    from ganzoo.trainer import Trainer

#: The name an experiment given as a dict gets when it names none (``experiment`` or ``name`` key).
DICT_EXPERIMENT = "custom"


def _engine(engine: "Engine | None") -> "Engine":
    from ganzoo.engine import Engine

    return engine if engine is not None else Engine()


def resolve_config(experiment: "str | Path | Mapping[str, Any]", overrides: Iterable[str] = (), *,
                   engine: "Engine | None" = None) -> tuple[str, dict]:
    """(name, resolved config as a plain dict) for a registry name, a YAML file (``FILE.yaml[:NAME]``) or a
    config dict in the form of a ``registry.yaml`` entry; every parameter it leaves out takes its default,
    or its parent's where the entry says ``extends: NAME``."""
    config = explain_config(experiment, overrides, engine=engine).config
    return config["experiment"], config


def explain_config(experiment: "str | Path | Mapping[str, Any]", overrides: Iterable[str] = (), *,
                   engine: "Engine | None" = None) -> "ResolvedConfig":
    """``resolve_config``'s config with where each value came from (``.origins``: ``experiment``,
    ``parent NAME``, ``default`` or ``--set`` per dotted key) and the experiments it extends (``.parents``)."""
    from ganzoo.config import trace_entry
    from ganzoo.sources import trace_experiment

    engine = _engine(engine)
    overrides = list(overrides)
    if isinstance(experiment, Mapping):
        entry = dict(experiment)
        name = str(entry.pop("experiment", None) or entry.pop("name", None) or DICT_EXPERIMENT)
        return trace_entry(engine.registry, name, entry, overrides)
    return trace_experiment(engine, str(experiment), overrides)


def list_components(kind: str = "experiments", pattern: str | None = None, *,
                    engine: "Engine | None" = None) -> list[dict[str, Any]]:
    """What the plugins registered of one kind (experiments, networks, losses, datasets, schedules, metrics),
    filtered by an fnmatch pattern: name, description, plugin, distribution, version and config parameters."""
    from ganzoo.registry import KINDS

    if kind not in KINDS:
        raise GanzooError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    return [{"name": c.name, "description": c.description, "plugin": c.plugin, "distribution": c.distribution,
             "version": c.version, "params": dict(c.params)}
            for c in _engine(engine).registry.items(kind, pattern)]


def _overrides(overrides: Iterable[str], steps: int | None, seed: int | None) -> list[str]:
    out = list(overrides)
    if steps is not None:
        out.append(f"train.steps={steps}")
    if seed is not None:
        out.append(f"train.seed={seed}")
    return out


def _device(device: "str | torch.device") -> "torch.device":
    """The device this process trains on (its rank's GPU under torchrun)."""
    import torch

    from ganzoo import distributed
    from ganzoo.device import resolve_device

    return distributed.rank_device(device if isinstance(device, torch.device) else resolve_device(device))


def start(experiment: "str | Path | Mapping[str, Any]", *, steps: int | None = None, seed: int | None = None,
          overrides: Iterable[str] = (), device: "str | torch.device" = "auto", out: str | Path | None = None,
          data_root: str | Path | None = None, progress: bool = True, engine: "Engine | None" = None,
          echo: Echo = echo_stderr) -> "Trainer":
    """Validate an experiment, create its run directory and return its trainer, untrained (``train`` = this +
    ``ganzoo.lifecycle.train_to_end``). Everything is checked before the directory is created; from then on
    this process holds its lock (``ganzoo.runlock``) until ``train_to_end`` ends or ``trainer.writer.release()``."""
    from ganzoo.data import default_data_root
    from ganzoo.lifecycle import start_trainer

    engine = _engine(engine)
    name, config = resolve_config(experiment, _overrides(overrides, steps, seed), engine=engine)
    return start_trainer(engine, name, config, _device(device), out, default_data_root(data_root), progress, echo)


def reopen(run_dir: str | Path, *, overrides: Iterable[str] = (), experiment: str | None = None,
           device: "str | torch.device" = "auto", data_root: str | Path | None = None, progress: bool = True,
           engine: "Engine | None" = None, echo: Echo = echo_stderr) -> "Trainer":
    """A run's trainer restored from its newest good checkpoint, the resume recorded, untrained (``resume`` =
    this + ``train_to_end``). ``overrides`` change its config, and are recorded; ``experiment``, when given,
    must be the run's. Locked like ``start``: a run another process writes raises ``RunLockedError``. The data
    comes from ``data_root``, else the root the run recorded (if it still exists), else $GANZOO_DATA / the cache."""
    from ganzoo.data import default_data_root
    from ganzoo.lifecycle import resume_trainer
    from ganzoo.runs import recorded_data_root

    return resume_trainer(_engine(engine), Path(run_dir), experiment, list(overrides), _device(device),
                          default_data_root(data_root, recorded_data_root(run_dir)), progress, echo)


def train(experiment: "str | Path | Mapping[str, Any]", *, steps: int | None = None, seed: int | None = None,
          overrides: Iterable[str] = (), device: "str | torch.device" = "auto", out: str | Path | None = None,
          data_root: str | Path | None = None, progress: bool = True, dist_backend: str = "auto",
          engine: "Engine | None" = None, should_stop: Callable[[], int | None] | None = None,
          echo: Echo = echo_stderr) -> Run:
    """Train an experiment (a registry name, ``FILE.yaml[:NAME]`` or a config dict) into a new run directory.

    ``steps`` and ``seed`` set train.steps and train.seed; ``overrides`` are ``"key=value"`` strings as for
    ``--set``; ``out`` is the run directory (default ``runs/<experiment>-<timestamp>``). SIGINT/SIGTERM
    finish the step and checkpoint (``Run.stopped_by``; continue with ``resume``). A run that fails
    before its first step leaves no directory behind. Inside a torchrun job each rank calls it.
    """
    engine = _engine(engine)
    # Checked before torch is imported, so a bad config is answered at once; ``start`` resolves it again below.
    resolve_config(experiment, _overrides(overrides, steps, seed), engine=engine)
    from ganzoo import distributed
    from ganzoo.lifecycle import train_to_end
    from ganzoo.rundir import remove_unstarted

    device = _device(device)
    with distributed.session(device, dist_backend):
        trainer = start(experiment, steps=steps, seed=seed, overrides=overrides, device=device, out=out,
                        data_root=data_root, progress=progress, engine=engine, echo=echo)
        try:
            return train_to_end(trainer, should_stop)
        except GanzooError:
            if distributed.current().is_main:
                remove_unstarted(trainer.run_dir)
            raise


def resume(run_dir: str | Path, *, overrides: Iterable[str] = (), steps: int | None = None,
           experiment: str | None = None, device: "str | torch.device" = "auto", data_root: str | Path | None = None,
           progress: bool = True, dist_backend: str = "auto", engine: "Engine | None" = None,
           should_stop: Callable[[], int | None] | None = None, echo: Echo = echo_stderr) -> Run:
    """Continue a run from its newest good checkpoint to its total steps (``steps`` raises the total).

    The run continues bitwise as if never stopped (CPU, same versions and threads); ``overrides``
    are applied and recorded. A run already complete comes back as it is, with nothing written.
    """
    from ganzoo import distributed
    from ganzoo.lifecycle import train_to_end

    device = _device(device)
    with distributed.session(device, dist_backend):
        trainer = reopen(run_dir, overrides=_overrides(overrides, steps, None), experiment=experiment,
                         device=device, data_root=data_root, progress=progress, engine=engine, echo=echo)
        if trainer.step >= trainer.total_steps:
            trainer.writer.release()
            return Run(trainer.run_dir, trainer.config, trainer.step, dict(trainer.last_eval), rank=trainer.ranks.rank)
        return train_to_end(trainer, should_stop)


@dataclass
class TrainedGenerator:
    """A trained generator, ready to sample: from a run directory, a ``Run`` or an export.

    ``spec`` is the DataSpec it generates (shape, classes, value range); ``config`` the run's config.
    """

    loaded: "LoadedRun"
    device: "torch.device"

    @property
    def spec(self) -> "DataSpec":
        """What one sample looks like (the model's view: no classes for an unconditional generator)."""
        from ganzoo.metrics.base import model_spec

        return model_spec(self.loaded.spec, self.loaded.generator)

    @property
    def config(self) -> dict:
        """The config of the run it came from."""
        return self.loaded.config

    @property
    def module(self) -> "torch.nn.Module":
        """The generator network itself (eval mode): ``module(z, labels)``."""
        return self.loaded.generator

    @property
    def latent_dim(self) -> int:
        """Size of one noise vector."""
        return int(self.loaded.generator.latent_dim)

    @property
    def num_classes(self) -> int:
        """How many classes it is conditioned on (0: unconditional)."""
        return self.spec.num_classes

    def noise(self, n: int, seed: int | None = None) -> "torch.Tensor":
        """n latent inputs on the CPU (Gaussian noise, or what the generator's ``sample_latent`` draws), from
        ``seed`` (else torch's global generator)."""
        import torch

        from ganzoo.samples import draw_latent

        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        return draw_latent(self.module, n, generator=gen)

    def sample(self, n: int | None = None, labels: "torch.Tensor | Iterable[int] | int | None" = None,
               seed: int | None = None, z: "torch.Tensor | None" = None, batch: int = 500,
               inputs: "torch.Tensor | None" = None, frames: int | None = None) -> "torch.Tensor":
        """n samples on the CPU in the spec's value range ([-1, 1] for images); ``labels`` (one class or one
        per sample) only for a conditional generator, else classes cycle 0, 1, ...; ``z`` overrides the noise.

        A translation model (``spec.translation``) translates ``inputs`` instead: source images
        (N, *spec.condition_shape) in the spec's value range, one output each (``n`` may be left out).
        ``frames`` asks a video generator with a motion network (``clips``, e.g. MoCoGAN) for clips of that
        many frames; the first ones are the clips it makes at its trained length."""
        import torch

        from ganzoo.samples import clip_maker

        make = clip_maker(self.module, self.spec, frames, seed, self.device)
        sources = self._sources(n, inputs)
        if sources is not None:
            n = len(sources)
        elif n is None:
            raise GanzooError("sample(n): say how many samples to draw")
        z = self.noise(n, seed) if z is None else z
        labels = sources if sources is not None else self._labels(len(z), labels)
        parts = []
        with torch.no_grad():
            for i in range(0, len(z), batch):
                lab = labels[i : i + batch].to(self.device) if labels is not None else None
                parts.append(make(z[i : i + batch].to(self.device), lab).float().cpu())
        return torch.cat(parts)

    def _sources(self, n: int | None, inputs: Any) -> "torch.Tensor | None":
        """The source images a translation model was given, checked against its spec; None for a noise model."""
        import torch

        shape = self.spec.condition_shape
        if not self.spec.translation:
            if inputs is not None:
                raise GanzooError("this generator samples from noise and takes no inputs; inputs= is for "
                                  "image-to-image models (e.g. pix2pix, cyclegan)")
            return None
        if inputs is None:
            raise GanzooError("this generator translates images: call sample(inputs=SOURCES) with source images of "
                              f"shape (N, {', '.join(map(str, shape))}) in {list(self.spec.value_range)}")
        sources = torch.as_tensor(inputs).float()
        sources = sources.unsqueeze(0) if sources.dim() == len(shape) else sources
        if tuple(sources.shape[1:]) != tuple(shape) or (n is not None and n != len(sources)):
            raise GanzooError(f"inputs must be {n if n is not None else 'N'} source images of shape "
                              f"({', '.join(map(str, shape))}), got {tuple(sources.shape)}")
        return sources

    def _labels(self, n: int, labels: Any) -> "torch.Tensor | None":
        import torch

        classes = self.num_classes
        if labels is None:
            return torch.arange(n) % classes if classes else None
        if not classes:
            raise GanzooError("this generator is unconditional; sample it without labels")
        tensor = torch.as_tensor(labels, dtype=torch.int64).flatten()
        tensor = tensor.expand(n) if tensor.numel() == 1 else tensor
        if tensor.numel() != n or int(tensor.min()) < 0 or int(tensor.max()) >= classes:
            raise GanzooError(f"labels must be one class or {n} classes in 0..{classes - 1}")
        return tensor

    def save(self, path: str | Path, n: int = 64, labels: Any = None, seed: int | None = 0,
             nrow: int | None = None) -> list[Path]:
        """Write n samples as a grid image (a GIF and PNG strip for video, a scatter plot for points)."""
        from ganzoo.samples import save_samples

        x = self.sample(n, labels, seed)
        nrow = nrow or self.loaded.config["sample"]["nrow"]
        path = Path(path)
        return save_samples(x, self.spec, path.with_suffix("") if path.suffix else path, max(1, min(nrow, n)))

    @property
    def codes(self) -> dict[str, int]:
        """The latent codes it declares, {name: categories, 0 for a continuous code}; {} for none."""
        from ganzoo.samples import latent_codes

        return latent_codes(self.module)

    def vary(self, code: str, columns: int | None = None, labels: Any = None, seed: int | None = 0) -> "torch.Tensor":
        """Samples that vary one latent code and hold the rest: a row per value of ``code`` (each category; a
        continuous code from -2 to 2), ``columns`` per row (default: the run's sample.nrow), each column one
        latent input; row-major, on the CPU. Only for generators that declare codes (``codes``)."""
        import torch

        from ganzoo.samples import varied_latent

        columns = columns or self.loaded.config["sample"]["nrow"]
        if columns < 1:
            raise GanzooError(f"columns must be at least 1, got {columns}")
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        z = varied_latent(self.module, code, columns, generator=gen)
        return self.sample(len(z), labels, z=z)

    def grid(self, n: int = 64, labels: Any = None, seed: int | None = 0, nrow: int | None = None,
             vary: str | None = None) -> "torch.Tensor":
        """n image samples arranged as one grid image (C, H, W) in [0, 1] (torchvision.utils.make_grid); with
        ``vary`` (a latent code's name), the grid of ``vary(code, nrow)`` instead: a row per value of that code."""
        from torchvision.utils import make_grid

        if self.spec.kind != "image":
            raise GanzooError(f"grid() makes image grids; this generator makes {self.spec.kind}; use save()")
        nrow = nrow or self.loaded.config["sample"]["nrow"]
        lo, hi = self.spec.value_range
        x = self.vary(vary, nrow, labels, seed) if vary is not None else self.sample(n, labels, seed)
        return make_grid(((x - lo) / (hi - lo)).clamp(0, 1), nrow=nrow, padding=2)


def load(source: "str | Path | Run", device: "str | torch.device" = "auto", checkpoint: str = "last.pt", *,
         engine: "Engine | None" = None) -> TrainedGenerator:
    """The sampling generator (EMA weights where the run kept them) of a run directory, a ``Run``, or a file
    written by ``ganzoo export --format safetensors`` (its plugin must be installed)."""
    import torch

    from ganzoo.device import resolve_device

    device = device if isinstance(device, torch.device) else resolve_device(device)
    path = Path(source.run_dir if isinstance(source, Run) else source)
    if path.suffix in {".safetensors", ".json"}:
        from ganzoo.export import load_export

        return TrainedGenerator(load_export(path, device, engine), device)
    from ganzoo.runs import load_run

    return TrainedGenerator(load_run(path, device, engine, checkpoint), device)


def evaluate(source: "str | Path | Run", metrics: Iterable[str] | None = None, *, n: int | None = None,
             seed: int | None = None, split: str | None = None, dataset: str | None = None,
             device: "str | torch.device" = "auto", data_root: str | Path | None = None, checkpoint: str = "last.pt",
             engine: "Engine | None" = None, frames: int | None = None) -> dict[str, dict]:
    """Metrics of a run (a directory or ``Run``) or of samples made elsewhere (an ``.npz`` or a folder of
    images, with ``dataset`` naming the data set they imitate): ``{metric: {"values": ..., "protocol": ...}}``.

    Defaults come from the run's config (eval.metrics that are installed, eval.n, train.seed, eval.split, the
    data root it recorded if that still exists); for samples, the ``fd`` metric, seed 0 and the test split.
    Each protocol holds its ``reference``: what real data scores under it. ``frames`` scores a video run's
    clips at that length (generators with a motion network; metrics of clips at the trained length alone,
    such as frechet-video, are left out). Nothing is written; ``ganzoo eval`` writes eval.json.
    """
    import torch

    from ganzoo.data import default_data_root, user_cache_dir
    from ganzoo.device import resolve_device
    from ganzoo.metrics.evaluate import evaluate_run, evaluate_samples
    from ganzoo.runs import recorded_data_root

    if n is not None and n < 2:
        raise GanzooError(f"n must be at least 2, got {n}")
    names = list(metrics) if metrics is not None else None
    if names is not None and not names:
        raise GanzooError("name at least one metric, e.g. metrics=['fd'] (see 'ganzoo list metrics')")
    engine = _engine(engine)
    device = device if isinstance(device, torch.device) else resolve_device(device)
    path = Path(source.run_dir if isinstance(source, Run) else source)
    root, cache = default_data_root(data_root, recorded_data_root(path)), user_cache_dir()
    if dataset is not None:
        if frames is not None:
            raise GanzooError("--frames lengthens the clips a run generates; samples made elsewhere keep their own length")
        return evaluate_samples(engine, path, dataset, names or ["fd"], n, seed if seed is not None else 0,
                                split or "test", device, root, cache)
    if path.suffix.lower() == ".npz" or (path.is_dir() and not (path / "config.yaml").is_file()
                                         and not (path / "checkpoints").is_dir()):
        raise GanzooError(f"{path} holds samples, not a run; pass dataset=NAME (the data set they imitate)")
    return evaluate_run(engine, path, names, n, seed, split, device, root, cache, checkpoint, frames=frames)


__all__ = ["Run", "TrainedGenerator", "evaluate", "explain_config", "list_components", "load", "reopen",
           "resolve_config", "resume", "start", "train"]
