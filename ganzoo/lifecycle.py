"""A run's life below the API: start or resume a trainer, restore it to a step, train it to the end.

``ganzoo.api`` (and through it ``ganzoo run`` and ``ganzoo bench``) calls these; nothing here
parses arguments or prints, except through the ``echo`` callable it is handed.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ganzoo.errors import CheckpointError, GanzooError, OutOfMemoryError, resume_command

if TYPE_CHECKING:
    import torch

    from ganzoo.engine import Engine
    from ganzoo.runlock import DirectoryLock
    from ganzoo.trainer import Trainer

Echo = Callable[[str], None]


def echo_stderr(text: str) -> None:
    """The default ``echo``: one line on stderr."""
    print(text, file=sys.stderr, flush=True)


@dataclass
class Run:
    """A run directory and what training it gave: the config, the step reached, the final evaluation.

    ``stopped_by`` is the signal number when SIGINT/SIGTERM (or a caller's ``should_stop``) ended
    training early, after a checkpoint; ``results`` maps each metric to its values and protocol;
    ``steps_trained`` counts the steps this call trained; ``rank`` is this process's rank (0 alone).
    """

    run_dir: Path
    config: dict
    step: int
    results: dict = field(default_factory=dict)
    stopped_by: int | None = None
    steps_trained: int = 0
    rank: int = 0

    @property
    def experiment(self) -> str:
        """The experiment's name."""
        return self.config["experiment"]

    @property
    def total_steps(self) -> int:
        """The configured total number of steps (train.steps)."""
        return int(self.config["train"]["steps"])

    @property
    def complete(self) -> bool:
        """True when training reached train.steps."""
        return self.step >= self.total_steps


def versions(engine: "Engine", config: dict) -> dict[str, Any]:
    """Versions of ganzoo, torch, torchvision and every plugin distribution this config uses."""
    import torch

    from ganzoo import __version__
    from ganzoo.config import COMPONENTS

    plugins = {}
    used = [(kind, config[key]["name"]) for key, kind in COMPONENTS.items()]
    used += [("metrics", name) for name in config["eval"]["metrics"]]
    for kind, name in used:
        c = engine.registry.get(kind, name)
        plugins[c.distribution] = c.version
    return {"ganzoo": __version__, "torch": str(torch.__version__), "torchvision": dist_version("torchvision"),
            "python": sys.version.split()[0], "plugins": plugins}


def ranks_note(trainer: "Trainer") -> str:
    """' x N processes (global batch B)' for a distributed run, else ''."""
    size = trainer.ranks.world_size
    return f" x {size} processes (global batch {trainer.config['train']['batch_size'] * size})" if size > 1 else ""


def build_trainer(engine: "Engine", config: dict, device: "torch.device", run_dir: Path, data_root: Path,
                  progress: bool) -> "Trainer":
    """Load the data and build the trainer (with its best-checkpoint tracker); nothing is written yet."""
    from ganzoo import distributed
    from ganzoo.best import best_tracker
    from ganzoo.metrics.base import model_spec
    from ganzoo.trainer import Trainer

    data = engine.load_data(config, "train", data_root)
    # A translation model's sample grids translate sources of the evaluation split even without metrics.
    wanted = config["eval"]["metrics"] or data.spec.translation
    eval_data = engine.load_data(config, config["eval"]["split"], data_root) if wanted else None
    best = best_tracker(engine, config)
    try:
        trainer = Trainer(engine, config, device, run_dir, data, data_root, eval_data,
                          progress=progress and distributed.current().is_main)
    except (ValueError, TypeError, RuntimeError, ArithmeticError, IndexError) as exc:
        raise GanzooError(f"cannot build {config['experiment']!r} with this config: {exc}".splitlines()[0]) from None
    trainer.best = best
    spec = model_spec(data.spec, trainer.generator)
    for name in config["eval"]["metrics"]:
        engine.metric(name).check_applies(name, spec)
    return trainer


def start_trainer(engine: "Engine", name: str, config: dict, device: "torch.device", out: str | Path | None,
                  data_root: Path, progress: bool, echo: Echo) -> "Trainer":
    """Create the run directory for a validated config and build its trainer; nothing is trained yet.

    Rank 0 plans and writes the directory, and locks it as it creates it: the trainer's writer holds
    the lock until ``train_to_end`` ends (or ``trainer.writer.release()``). Every rank builds its trainer.
    """
    from ganzoo import distributed
    from ganzoo.rundir import plan_run_dir

    run_dir = distributed.from_main(lambda: plan_run_dir(None if out is None else str(out), name))
    trainer = build_trainer(engine, config, device, run_dir, data_root, progress)
    config["run"] = {"device": str(device), "data": trainer.spec.to_dict(), "data_root": str(Path(data_root).resolve()),
                     "versions": versions(engine, config),
                     "network": engine.registry.get("networks", config["network"]["name"]).origin(),
                     "distributed": distributed.record(config, device)}
    record_dataset(config, trainer)
    distributed.from_main(lambda: _create_locked(trainer, name, config))
    if distributed.current().is_main:
        echo(f"training {name} on {device}{ranks_note(trainer)} for {config['train']['steps']} steps -> {run_dir}")
    return trainer


def record_dataset(config: dict, trainer: "Trainer") -> None:
    """Put what the data set says about its loading (``Data.info["record"]``: files skipped, ...) in the config's
    ``run.dataset``, where there is anything."""
    record = trainer.data.info.get("record")
    if record:
        config["run"]["dataset"] = record


def _create_locked(trainer: "Trainer", name: str, config: dict) -> None:
    """Lock the new run directory as it is created, then write it; the trainer's writer keeps the lock."""
    from ganzoo.rundir import create_run_dir, plan_run_dir
    from ganzoo.runlock import acquire

    lock = acquire(trainer.run_dir, create=True)
    try:
        plan_run_dir(str(trainer.run_dir), name)  # again, under the lock: a run started beside this one is refused
        create_run_dir(trainer.run_dir, config)
    except BaseException:
        lock.release()
        raise
    trainer.writer.lock = lock


def resume_trainer(engine: "Engine", run_dir: Path, experiment: str | None, overrides: list[str],
                   device: "torch.device", data_root: Path, progress: bool, echo: Echo) -> "Trainer":
    """A trainer restored from a run's newest good checkpoint, the resume recorded; nothing is trained yet.

    Rank 0 locks the run directory before reading it (another writer is refused before anything is
    written); the trainer's writer holds the lock until ``train_to_end`` ends (or
    ``trainer.writer.release()``). A run already at its total steps comes back loaded, with nothing written.
    """
    lock = _lock_run(Path(run_dir))
    try:
        trainer = _restored(engine, Path(run_dir), experiment, overrides, device, data_root, progress, echo)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    trainer.writer.lock = lock
    return trainer


def _lock_run(run_dir: Path) -> "DirectoryLock | None":
    """Rank 0's lock on a run directory (every rank stops when another process holds it); None on the other
    ranks, and for a directory that is no run (``plan_resume`` then says what is wrong)."""
    from ganzoo import distributed
    from ganzoo.runlock import acquire

    held: list["DirectoryLock"] = []

    def take() -> None:
        if (run_dir / "config.yaml").is_file():
            held.append(acquire(run_dir))

    distributed.from_main(take)
    return held[0] if held else None


def _restored(engine: "Engine", run_dir: Path, experiment: str | None, overrides: list[str],
              device: "torch.device", data_root: Path, progress: bool, echo: Echo) -> "Trainer":
    """The resume itself, under the run directory's lock."""
    from ganzoo import distributed
    from ganzoo.resume_plan import plan_resume
    from ganzoo.rundir import write_config

    main = distributed.current().is_main

    def warn(text: str) -> None:
        if main:
            echo(f"warning: {text}")

    plan = plan_resume(engine, Path(run_dir), experiment, overrides, warn)
    config, run_dir = plan.config, plan.run_dir
    trainer = build_trainer(engine, config, device, run_dir, data_root, progress)
    if plan.state is not None and _plain(plan.state["spec"]) != _plain(trainer.spec.to_dict()):
        raise CheckpointError(f"the data set now gives {trainer.spec.to_dict()}, the checkpoint was trained on "
                              f"{plan.state['spec']}; resume with the same dataset settings")
    if plan.step >= config["train"]["steps"]:
        trainer.load_state_dict(plan.state)
        return trainer
    trainer.restore(plan.state)
    now = versions(engine, config)
    if config["run"].get("versions") not in (None, now):
        warn("library or plugin versions differ from the ones this run started with; "
             "the resumed run may not be bitwise identical to an uninterrupted one")
    before = (config["run"].get("distributed") or {}).get("world_size", 1)
    config["run"]["distributed"] = distributed.record(config, device)
    if before != trainer.ranks.world_size:
        warn(f"this run was trained on {before} process(es) and continues on {trainer.ranks.world_size}: "
             f"the global batch is now {config['run']['distributed']['global_batch_size']} and the data order differs")
    record = {"step": trainer.step, "device": str(device), "world_size": trainer.ranks.world_size,
              "changes": plan.changes}
    config["run"]["device"] = str(device)
    config["run"]["data_root"] = str(Path(data_root).resolve())
    record_dataset(config, trainer)
    config["run"]["resumes"] = list(config["run"].get("resumes") or []) + [record]
    if main:
        write_config(run_dir, config)
    trainer.log_event({"event": "resume", **record})
    if plan.changes and plan.state is not None:
        trainer.save_checkpoint(force=True)
    changed = f" with {', '.join(f'{k}={v[1]!r}' for k, v in plan.changes.items())}" if plan.changes else ""
    if main:
        echo(f"resuming {config['experiment']} at step {trainer.step} of {config['train']['steps']} "
             f"on {device}{ranks_note(trainer)}{changed} -> {run_dir}")
    return trainer


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value))


def out_of_memory(trainer: "Trainer") -> OutOfMemoryError:
    """The one-line error for a run that ran out of GPU memory: what to lower, and how to go on."""
    from ganzoo.rundir import has_checkpoint

    batch = trainer.config["train"]["batch_size"]
    smaller = max(1, batch // 2)
    advice = (f"continue with: {resume_command(trainer.run_dir)} --set train.batch_size={smaller}"
              if has_checkpoint(trainer.run_dir) else f"start again with --set train.batch_size={smaller}")
    return OutOfMemoryError(f"out of {trainer.device.type} memory at step {trainer.step + 1} with train.batch_size "
                            f"{batch}: lower the batch or the network's width; {advice}")


def train_to_end(trainer: "Trainer", should_stop: Callable[[], int | None] | None = None) -> Run:
    """Train with graceful SIGINT/SIGTERM handling (in the main thread) until the total steps or a stop.

    The first signal finishes the step, writes a checkpoint and returns a Run with ``stopped_by``
    set; a second raises ``ganzoo.signals.Aborted`` at once. ``should_stop`` may also return a
    signal number to stop the same way (e.g. a time budget). Every rank of a distributed run
    agrees on the stop. However training ends, the run directory's lock is released.
    """
    import torch

    from ganzoo import distributed
    from ganzoo.signals import Aborted, GracefulStop

    first = trainer.step
    try:
        with GracefulStop() as stop:
            def poll() -> int | None:
                requested = stop.requested()
                return requested if requested is not None or should_stop is None else should_stop()

            try:
                results = trainer.train(distributed.agreed(poll))
            except Aborted as exc:
                exc.run_dir = trainer.run_dir
                raise
            except torch.cuda.OutOfMemoryError:
                raise out_of_memory(trainer) from None
        distributed.finish()
    finally:
        trainer.batcher.close()
        trainer.writer.release()
    return Run(trainer.run_dir, trainer.config, trainer.step, results, trainer.stopped_by, trainer.step - first,
               trainer.ranks.rank)
