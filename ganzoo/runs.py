"""Reading finished (or interrupted) runs back: config, data spec and the sampling generator."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ganzoo.checkpoint import load_checkpoint
from ganzoo.config import load_yaml_file
from ganzoo.engine import Engine
from ganzoo.errors import CheckpointError, GanzooError, RunDirError
from ganzoo.spec import DataSpec


@dataclass
class LoadedRun:
    """A run's generator (EMA weights when the run kept them), config and data spec."""

    run_dir: Path
    generator: torch.nn.Module
    config: dict
    spec: DataSpec
    step: int


def load_run(run_dir: str | Path, device: torch.device, engine: Engine | None = None,
             checkpoint: str = "last.pt") -> LoadedRun:
    """Rebuild a run's generator from its checkpoint on any device, in eval mode, through its network plugin
    alone (the loss, schedule and metric plugins may be gone); a checkpoint that does not fit its own config
    is reported as corrupt."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunDirError(f"{run_dir} is not a run directory; pass the directory 'ganzoo run' printed")
    state = load_checkpoint(run_dir / "checkpoints" / checkpoint, map_location="cpu")
    engine = engine or Engine()
    try:
        config, spec = state["config"], DataSpec.from_dict(state["spec"])
        generator = engine.build_networks(config, spec)[0]
        weights = state["generator"]
        ema = state.get("schedule", {}).get("ema")
        if ema is not None:
            weights = {k[len("module."):]: v for k, v in ema.items() if k.startswith("module.")}
        generator.load_state_dict(weights)
    except GanzooError:
        raise
    except (KeyError, RuntimeError, TypeError, ValueError) as exc:
        detail = f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
        raise CheckpointError(f"the checkpoint in {run_dir} does not match its run's config ({detail})") from None
    return LoadedRun(run_dir, generator.to(device).eval(), config, spec, int(state["step"]))


def recorded_data_root(run_dir: str | Path) -> str | None:
    """The data root a run was trained from (config.yaml ``run.data_root``); None when it records none."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        return None
    try:
        config = load_yaml_file(path)
    except GanzooError:
        return None
    run = config.get("run") if isinstance(config, dict) else None
    root = run.get("data_root") if isinstance(run, dict) else None
    return root if isinstance(root, str) else None
