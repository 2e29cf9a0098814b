"""The training loop: data -> schedule step -> logs / samples / checkpoints / evaluation.

The Trainer holds a run's state (networks, schedule, data position, RNG) and decides when to log,
sample, checkpoint, evaluate and roll back; what goes to disk, and how, is its ``RunWriter``'s
(``ganzoo.run_writer``), and the divergence tests are ``ganzoo.guard``'s.
"""

from __future__ import annotations

import random
import shlex
import time
from pathlib import Path
from typing import Any, Callable

import torch

from ganzoo import contracts, distributed, fastpath
from ganzoo.best import BestTracker
from ganzoo.checkpoint import load_checkpoint
from ganzoo.data import Batcher, user_cache_dir
from ganzoo.device import forked_rng
from ganzoo.engine import Components, Engine
from ganzoo.errors import CheckpointError, resume_command
from ganzoo.guard import DivergedError, find_problem, lowered_learning_rates
from ganzoo.metrics.base import EvalContext, model_spec
from ganzoo.metrics.evaluate import compute
from ganzoo.metrics.features import MetricError
from ganzoo.run_writer import RunWriter
from ganzoo.samples import draw_latent, fixed_inputs, fixed_sources, grid_columns, translation_rows
from ganzoo.spec import Data

#: What a checkpoint must hold to resume a run.
RESUME_KEYS = ("step", "generator", "discriminator", "schedule", "data", "rng", "config", "spec", "eval", "pending",
               "best", "guard")


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's generators."""
    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict:
    """Every RNG state the loop draws from, as tensors and plain data (weights_only-loadable)."""
    import numpy as np

    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "python": list(random.getstate()[1]) + [random.getstate()[2] if random.getstate()[2] is not None else -1],
        "python_version": random.getstate()[0],
        "numpy": torch.from_numpy(np_state[1].astype("int64")),
        "numpy_pos": int(np_state[2]),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what rng_state() saved."""
    import numpy as np

    torch.set_rng_state(state["torch"])
    py = state["python"]
    gauss = None if py[-1] == -1 else py[-1]
    random.setstate((state["python_version"], tuple(int(v) for v in py[:-1]), gauss))
    np.random.set_state(("MT19937", state["numpy"].numpy().astype("uint32"), state["numpy_pos"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class Trainer:
    """Trains one experiment into one run directory."""

    def __init__(self, engine: Engine, config: dict, device: torch.device, run_dir: Path, data: Data,
                 data_root: Path, eval_data: Data | None = None, progress: bool = True) -> None:
        self.engine, self.config, self.device, self.run_dir = engine, config, device, Path(run_dir)
        self.data, self.eval_data, self.data_root, self.show_progress = data, eval_data, data_root, progress
        self.spec = data.spec
        train = config["train"]
        self.total_steps = train["steps"]
        seed_everything(train["seed"])
        self.components: Components = engine.build(config, self.spec)
        self.generator = self.components.generator.to(device)
        self.discriminator = self.components.discriminator.to(device)
        self.fast = fastpath.resolve(train, device, fastpath.has_conv((self.generator, self.discriminator)))
        fastpath.apply_threads(self.fast.threads)
        fastpath.prepare_networks((self.generator, self.discriminator), self.fast)
        # The schedule trains through DDP wrappers; checkpoints hold the unwrapped networks' weights.
        self.ranks = distributed.current()
        self.writer = RunWriter(self.run_dir, self.ranks.is_main, train["keep_last"])
        self.components.generator = distributed.wrap(self.generator, device, config["distributed"])
        self.components.discriminator = distributed.wrap(self.discriminator, device, config["distributed"])
        self.schedule = self._make_schedule()
        distributed.seed_rank(train["seed"])
        self.batcher = Batcher(data, train["batch_size"], train["seed"], device, self.ranks.rank, self.ranks.world_size)
        self.step = 0
        self.images_per_step = (train["batch_size"] * contracts.optional(self.schedule, contracts.Schedule, "batches_per_step")
                                * self.ranks.world_size)
        n, nrow = config["sample"]["n"], config["sample"]["nrow"]
        z, labels = fixed_inputs(self.spec, self.generator, n, nrow, train["seed"])
        self.fixed_targets: torch.Tensor | None = None
        if self.spec.translation:  # the sources come from the evaluation split where one is loaded
            labels, self.fixed_targets = fixed_sources(data if eval_data is None else eval_data, n,
                                                        train["seed"])
            z = z[: len(labels)]
        self.fixed_z, self.fixed_labels = z.to(device), (labels.to(device) if labels is not None else None)
        self.grid_nrow = grid_columns(self.spec, n, nrow)
        self.last_eval: dict[str, Any] = {}
        self.pending: list[dict[str, torch.Tensor]] = []
        self.best: BestTracker | None = None
        self.rollbacks = 0
        self.stopped_by: int | None = None
        self._saved_step: int | None = None

    def _make_schedule(self) -> Any:
        """The configured schedule over the networks, with this run's precision and Adam kernel."""
        schedule = self.engine.make_schedule(self.config, self.components, self.spec)
        fastpath.use_fast_paths(schedule, self.fast, self.config["train"]["amp"] != "auto")
        return schedule

    # --- paths -----------------------------------------------------------------------------
    @property
    def checkpoint_dir(self) -> Path:
        """Where checkpoints go."""
        return self.writer.checkpoint_dir

    def log_event(self, event: dict) -> None:
        """Append one JSON object to metrics.jsonl (rank 0 alone)."""
        self.writer.event(event)

    # --- sampling --------------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, z: torch.Tensor, labels: torch.Tensor | None, batch: int = 500) -> torch.Tensor:
        """Run the sampling generator (EMA when enabled) in eval mode, in batches, to the CPU."""
        G = self.schedule.generator_for_sampling()
        was_training = G.training
        G.eval()
        out = []
        for i in range(0, len(z), batch):
            lab = labels[i : i + batch].to(self.device) if labels is not None else None
            out.append(G(z[i : i + batch].to(self.device), lab).float().cpu())
        G.train(was_training)
        return torch.cat(out)

    def sample(self, n: int, labels: torch.Tensor | None) -> torch.Tensor:
        """n fresh samples from the current generator (for metrics)."""
        z = draw_latent(self.generator, n, device=self.device)
        return self.generate(z, labels)

    def write_samples(self, name: str) -> list[Path]:
        """Save the fixed-noise samples as samples/<name>.* (rank 0 alone)."""
        if not self.writer.writes:
            return []
        x = self.generate(self.fixed_z, self.fixed_labels)
        if self.spec.translation:
            x = translation_rows(self.fixed_labels, x, self.fixed_targets, self.grid_nrow)
        real = self.data.x[:2000] if self.spec.kind == "points" else None
        return self.writer.samples(x, self.spec, name, self.grid_nrow, real, f"step {self.step}")

    # --- checkpoints -----------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything needed to continue this run exactly."""
        pending = {k: torch.stack([p[k] for p in self.pending]).detach().cpu() for k in self.pending[0]} if self.pending else {}
        return {
            "format": 1,
            "step": self.step,
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "schedule": self.schedule.state_dict(),
            "data": self.batcher.state_dict(),
            "rng": rng_state(),
            "config": self.config,
            "spec": self.spec.to_dict(),
            "eval": self.last_eval,
            "pending": pending,
            "best": self.best.state_dict() if self.best is not None else {},
            "guard": {"rollbacks": self.rollbacks},
        }

    def load_state_dict(self, state: dict) -> None:
        """Continue from a checkpoint: weights, schedule, data position, logs in flight, best, then RNG."""
        missing = [k for k in RESUME_KEYS if k not in state]
        if missing:
            raise CheckpointError(f"the checkpoint lacks {', '.join(missing)}: it cannot resume a run")
        try:
            self.generator.load_state_dict(state["generator"])
            self.discriminator.load_state_dict(state["discriminator"])
            self.schedule.load_state_dict(state["schedule"])
        except (RuntimeError, KeyError, ValueError, TypeError) as exc:
            reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise CheckpointError(f"the checkpoint does not fit the networks this config builds ({reason}); "
                                  "undo the --set that changed them") from None
        self.batcher.load_state_dict(state["data"])
        self.step = int(state["step"])
        pending = state["pending"]
        count = len(next(iter(pending.values()))) if pending else 0
        self.pending = [{k: v[i].to(self.device) for k, v in pending.items()} for i in range(count)]
        if self.best is not None:
            self.best.load_state_dict(state["best"])
        self.rollbacks = int(state["guard"]["rollbacks"])
        self.last_eval = state["eval"]
        distributed.restore_rng(state, set_rng_state)
        self._saved_step = self.step

    def restore(self, state: dict | None) -> None:
        """Return the run to a checkpoint's step (step 0 for None): weights, schedule, data position and RNG
        from ``state``, and the run directory cut back to match (metrics.jsonl after the step, newer step
        checkpoints; rank 0 alone). Resume and the divergence guard's rollback both come through here."""
        if state is not None:
            self.load_state_dict(state)
        self.writer.cut_back(self.step)

    def save_checkpoint(self, force: bool = False) -> Path:
        """Write checkpoints/step_<step>.pt and last.pt atomically (once per step unless forced), keeping keep_last.

        Every rank calls it (their RNG states are gathered); rank 0 alone writes.
        """
        path = self.checkpoint_dir / f"step_{self.step:06d}.pt"
        if force or self._saved_step != self.step:
            state = self.state_dict()
            if self.ranks.world_size > 1:
                state["rng_ranks"] = distributed.gather(state["rng"])
            path = self.writer.checkpoint(state, self.step)
            self._saved_step = self.step
        return path

    # --- divergence guard ------------------------------------------------------------------
    def _health_problem(self) -> tuple[int, str] | None:
        """(step, what) of the first non-finite loss in flight or network weight, or None while all are finite."""
        return find_problem(self.pending, self.step, {"generator": self.generator, "discriminator": self.discriminator})

    def _guard(self) -> bool:
        """Check health; True after a rollback (the loop continues from the restored step), raise to stop."""
        problem = self._health_problem()
        if problem is None:
            return False
        step, what = problem
        last = self.checkpoint_dir / "last.pt"
        if self.rollbacks < self.config["guard"]["rollbacks"] and last.is_file():
            self._roll_back(load_checkpoint(last), step, what)
            return True
        kept = f"the last good checkpoint is {last}" if last.is_file() else "no checkpoint was written yet"
        raise DivergedError(
            f"training diverged at step {step}: {what} is not finite; {kept}; lower the learning rate and resume "
            f"({resume_command(self.run_dir)} --set schedule.lr_g=...) or set guard.rollbacks"
        )

    def _roll_back(self, state: dict, step: int, what: str) -> None:
        """Return to a good checkpoint with every schedule learning rate lowered by guard.lr_factor."""
        lowered = lowered_learning_rates(self.config["schedule"], self.config["guard"]["lr_factor"])
        changes = {f"schedule.{k}": [self.config["schedule"][k], v] for k, v in lowered.items()}
        self.config["schedule"].update(lowered)
        self.schedule = self._make_schedule()
        used = self.rollbacks + 1
        self.restore(state)
        self.rollbacks = used
        self.writer.config(self.config)
        self.log_event({"event": "rollback", "step": self.step, "diverged_at": step, "cause": what, "changes": changes})
        self.save_checkpoint(force=True)

    # --- evaluation ------------------------------------------------------------------------
    def evaluate(self) -> dict[str, Any]:
        """Run the experiment's metrics; returns {metric: MetricResult.to_dict()}. Training's random state is
        left as it was: a run evaluated every 50 steps trains the same weights as one evaluated once."""
        names = self.config["eval"]["metrics"]
        if not names:
            return {}
        real = self.eval_data if self.eval_data is not None else self.data
        ctx = EvalContext(
            spec=model_spec(self.spec, self.generator), real=real, sample=self.sample, n=self.config["eval"]["n"],
            seed=self.config["train"]["seed"], device=self.device, dataset=self.config["dataset"],
            cache_dir=user_cache_dir(), data_root=self.data_root, split=self.config["eval"]["split"],
            generator=self.schedule.generator_for_sampling(),
        )
        # The metrics may draw from torch's global generators (a data set's loader, an evaluator): forked, so
        # that how often a run evaluates never changes what it trains.
        with forked_rng(self.device):
            results = compute(self.engine, names, ctx)
        self.last_eval = results
        flat = {f"{m}.{k}": v for m, r in results.items() for k, v in r["values"].items()}
        self.log_event({"event": "eval", "step": self.step, **flat})
        self.engine.notify("ganzoo_eval", run=self, step=self.step, results=flat)
        return results

    # --- the loop --------------------------------------------------------------------------
    def _flush_logs(self, window_steps: int, elapsed: float) -> dict[str, float]:
        """Average the losses in flight into one 'train' event."""
        logs = {k: float(v) for k, v in zip(self.pending[0], torch.stack(
            [torch.stack([p[k].float() for p in self.pending]).mean() for k in self.pending[0]]).tolist())}
        logs["images_per_s"] = window_steps * self.images_per_step / max(elapsed, 1e-9)
        self.log_event({"event": "train", "step": self.step, **logs})
        if self.ranks.is_main:
            self.engine.notify("ganzoo_step_end", run=self, step=self.step, logs=logs)
        self.pending = []
        return logs

    def _evaluate_and_track(self) -> dict[str, Any]:
        """Evaluate, and write best.pt when the primary metric improves (rank 0 alone). A metric that cannot be
        computed (too few samples, the wrong data set) stops the run with its weights checkpointed first."""
        if not self.ranks.is_main:
            return {}
        try:
            results = self.evaluate()
        except MetricError as exc:
            raise self._evaluation_failed(exc) from None
        flat = {f"{m}.{k}": v for m, r in results.items() for k, v in r["values"].items()}
        if self.best is not None and self.best.update(flat, self.step):
            self.writer.best(self.state_dict())
        return results

    def _evaluation_failed(self, exc: MetricError) -> MetricError:
        """``exc``, after a checkpoint of this step, with what to do next. Left as it is where no checkpoint may be
        written: weights gone non-finite (the last good checkpoint stays the newest), or a distributed run (its
        checkpoint needs every rank, and only rank 0 evaluates)."""
        if self.ranks.world_size > 1 or self._health_problem() is not None:
            return exc
        path = self.save_checkpoint()
        then = (f"score it with 'ganzoo eval {shlex.quote(str(self.run_dir))}' (--n, --metrics)"
                if self.step >= self.total_steps else
                f"fix eval.* and continue with '{resume_command(self.run_dir)} --set eval.KEY=VALUE'")
        return MetricError(f"{exc} [evaluation at step {self.step}; the training is saved in {path}: {then}]")

    def train(self, should_stop: Callable[[], int | None] | None = None) -> dict[str, Any]:
        """Train to the configured total steps; returns the final evaluation.

        ``should_stop`` is polled after every step; when it returns a signal number the loop
        writes a checkpoint, sets ``stopped_by`` and returns {}.
        """
        from ganzoo.progress import TrainingProgress

        train = self.config["train"]
        if self.ranks.is_main:
            self.engine.notify("ganzoo_train_start", run=self)
        window_start, window_steps = time.perf_counter(), 0
        with TrainingProgress(self.total_steps, self.step, enabled=self.show_progress) as progress:
            while self.step < self.total_steps:
                fastpath.mark_step_begin(self.fast)
                self.pending.append(distributed.average(self.schedule.step(self.batcher.next)))
                self.step += 1
                window_steps += 1
                if self.step % train["log_every"] == 0 or self.step == self.total_steps:
                    if self._guard():
                        window_start, window_steps = time.perf_counter(), 0
                        continue
                    logs = self._flush_logs(window_steps, time.perf_counter() - window_start)
                    progress.update(self.step, logs)
                    window_start, window_steps = time.perf_counter(), 0
                if self.step % train["sample_every"] == 0:
                    self.write_samples(f"step_{self.step:06d}")
                every = self.config["eval"]["every"]
                if every and self.step % every == 0 and self.step != self.total_steps:
                    self._evaluate_and_track()
                signum = should_stop() if should_stop is not None else None
                due = self.step % train["checkpoint_every"] == 0 or signum is not None
                if due and self.step != self.total_steps:
                    if self._guard():
                        continue
                    self.save_checkpoint()
                    if signum is not None:
                        self.stopped_by = signum
                        return {}
        self.write_samples("final")
        results = self._evaluate_and_track()
        self.writer.results(results)
        self.save_checkpoint()
        if self.ranks.is_main:
            self.engine.notify("ganzoo_train_end", run=self)
        return results
