"""Resuming a run: its newest good checkpoint, the config to continue with, and what changed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ganzoo.checkpoint import latest_checkpoint
from ganzoo.config import load_yaml_file, parse_override, resolve_entry
from ganzoo.errors import ConfigError, RunDirError

#: Sections of a saved config that record the run rather than configure it.
RECORD_KEYS = ("experiment", "run")


@dataclass
class ResumePlan:
    """A run to continue: its directory, config (overrides applied), checkpoint state and changes."""

    run_dir: Path
    config: dict
    state: dict | None
    checkpoint: Path | None
    changes: dict[str, list]

    @property
    def step(self) -> int:
        """The step the run continues from (0 when it never reached a checkpoint)."""
        return int(self.state["step"]) if self.state else 0


def config_changes(old: Any, new: Any, prefix: str = "") -> dict[str, list]:
    """Leaf keys whose values differ, as {"section.key": [old, new]}, ignoring the run record."""
    if isinstance(old, dict) and isinstance(new, dict):
        found: dict[str, list] = {}
        for key in list(old) + [k for k in new if k not in old]:
            if not prefix and key in RECORD_KEYS:
                continue
            path = f"{prefix}.{key}" if prefix else str(key)
            found.update(config_changes(old.get(key), new.get(key), path))
        return found
    return {} if old == new else {prefix: [old, new]}


def _covered(key: str, explicit: set[str]) -> bool:
    return any(key == e or key.startswith(e + ".") for e in explicit)


def plan_resume(engine: Any, run_dir: Path, experiment: str | None, overrides: list[str],
                warn: Callable[[str], None]) -> ResumePlan:
    """Check a run directory and settle how to continue it; a config changed other than by --set is refused."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise RunDirError(f"--resume {run_dir}: not a run directory (no config.yaml); pass the directory 'ganzoo run' printed")
    on_disk = load_yaml_file(run_dir / "config.yaml")
    if not isinstance(on_disk, dict) or not isinstance(on_disk.get("experiment"), str):
        raise RunDirError(f"--resume {run_dir}: config.yaml is not a ganzoo run config")
    found = latest_checkpoint(run_dir / "checkpoints", warn)
    state, checkpoint = found if found is not None else (None, None)
    saved = state["config"] if state is not None else on_disk
    name = saved["experiment"]
    if experiment is not None and experiment != name:
        raise ConfigError(f"--resume {run_dir} is a run of {name!r}, not {experiment!r}; drop the experiment name")
    explicit = {".".join(parse_override(o)[0]) for o in overrides}
    edited = [k for k in config_changes(saved, on_disk) if not _covered(k, explicit)]
    if edited:
        key = edited[0]
        raise ConfigError(f"{run_dir / 'config.yaml'} differs from the checkpoint at {key} "
                          f"({len(edited)} key(s)); restore it, or change it explicitly with --set {key}=VALUE")
    entry = {k: v for k, v in saved.items() if k not in RECORD_KEYS}
    config = resolve_entry(engine.registry, name, entry, overrides)
    config["run"] = dict(saved.get("run") or {})
    plan = ResumePlan(run_dir, config, state, checkpoint, config_changes(saved, config))
    if config["train"]["steps"] < plan.step:
        raise ConfigError(f"train.steps={config['train']['steps']} is below step {plan.step}, which this run "
                          "already reached; train.steps is the total, not additional steps")
    return plan
