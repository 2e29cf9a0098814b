"""Everything a training run writes into its directory, in one place.

The trainer decides *when* (log, sample, checkpoint and evaluation intervals, the divergence
guard); a ``RunWriter`` decides *how*: metrics.jsonl events, sample files, step checkpoints
and last.pt, best.pt, eval.json, config.yaml, and cutting the directory back to a step.
Every file but metrics.jsonl is written atomically. Under DDP only rank 0's writer writes;
the others' calls do nothing. The writer carries the directory's lock (``ganzoo.runlock``) when
the lifecycle took one for it, until ``release()``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ganzoo.checkpoint import atomic_save, atomic_write_bytes, drop_after, save_step
from ganzoo.rundir import truncate_log, write_config

if TYPE_CHECKING:
    import torch

    from ganzoo.runlock import DirectoryLock
    from ganzoo.spec import DataSpec


class RunWriter:
    """Writes one run directory; ``writes`` is False on every rank but rank 0."""

    def __init__(self, run_dir: Path, writes: bool, keep_last: int) -> None:
        self.run_dir, self.writes, self.keep_last = Path(run_dir), writes, keep_last
        self.lock: "DirectoryLock | None" = None

    def release(self) -> None:
        """Let another process write this run directory (its lock released, when this writer holds one)."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    @property
    def checkpoint_dir(self) -> Path:
        """Where checkpoints go."""
        return self.run_dir / "checkpoints"

    def event(self, event: dict) -> None:
        """Append one JSON object to metrics.jsonl."""
        if self.writes:
            with open(self.run_dir / "metrics.jsonl", "a", encoding="utf-8") as fh:
                fh.write(json.dumps(event) + "\n")

    def samples(self, x: "torch.Tensor", spec: "DataSpec", name: str, nrow: int, real: "torch.Tensor | None",
                title: str) -> list[Path]:
        """samples/<name>.* in the form that suits the data kind; returns the files written."""
        from ganzoo.samples import save_samples

        if not self.writes:
            return []
        return save_samples(x, spec, self.run_dir / "samples" / name, nrow, real, title)

    def checkpoint(self, state: dict, step: int) -> Path:
        """checkpoints/step_<step>.pt and last.pt, keeping the newest ``keep_last`` step files."""
        path = self.checkpoint_dir / f"step_{step:06d}.pt"
        return save_step(state, self.checkpoint_dir, step, self.keep_last) if self.writes else path

    def best(self, state: dict) -> None:
        """checkpoints/best.pt: the state at the best evaluation so far."""
        if self.writes:
            atomic_save(state, self.checkpoint_dir / "best.pt")

    def results(self, results: dict[str, Any]) -> None:
        """eval.json: the final evaluation, each metric with its protocol."""
        if self.writes and results:
            atomic_write_bytes((json.dumps(results, indent=2) + "\n").encode("utf-8"), self.run_dir / "eval.json")

    def config(self, config: dict) -> None:
        """config.yaml, rewritten (after a resume or a rollback changed it)."""
        if self.writes:
            write_config(self.run_dir, config)

    def cut_back(self, step: int) -> None:
        """Forget what came after ``step``: metrics.jsonl events and newer step checkpoints."""
        if self.writes:
            truncate_log(self.run_dir, step)
            drop_after(self.checkpoint_dir, step)
