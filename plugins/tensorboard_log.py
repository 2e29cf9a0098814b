"""Built-in plugin ``tensorboard_log``: training and evaluation scalars to TensorBoard.

Off unless the config asks for it (``logging.tensorboard: true``, or ``ganzoo run --tensorboard``).
Event files go to ``RUN_DIR/tensorboard``; view them with ``tensorboard --logdir RUN_DIR``.
Needs the optional extra: ``uv sync --extra tensorboard`` or ``pip install 'ganzoo[tensorboard]'``.
"""

from __future__ import annotations

from typing import Any

from ganzoo import hookimpl
from ganzoo.errors import PluginError

#: Open writers by run (a Trainer), between train start and train end.
_writers: dict[int, Any] = {}


def _enabled(run: Any) -> bool:
    return bool(run.config.get("logging", {}).get("tensorboard", False))


def open_writer(run: Any) -> Any:
    """A SummaryWriter for the run's ``tensorboard`` directory, or a clear error if TensorBoard is missing."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise PluginError(
            "logging.tensorboard is on but TensorBoard is not installed; install the extra "
            "('uv sync --extra tensorboard' or pip install 'ganzoo[tensorboard]') or drop --tensorboard"
        ) from None
    return SummaryWriter(log_dir=str(run.run_dir / "tensorboard"), purge_step=run.step + 1 if run.step else None)


@hookimpl
def ganzoo_train_start(run: Any) -> None:
    """Open the writer when the config asks for TensorBoard."""
    if _enabled(run):
        _writers[id(run)] = open_writer(run)


def _add_scalars(run: Any, prefix: str, values: dict[str, float], step: int) -> None:
    writer = _writers.get(id(run))
    if writer is not None:
        for name, value in values.items():
            writer.add_scalar(f"{prefix}/{name}", value, step)


@hookimpl
def ganzoo_step_end(run: Any, step: int, logs: dict[str, float]) -> None:
    """Training values as ``train/<name>`` scalars."""
    _add_scalars(run, "train", logs, step)


@hookimpl
def ganzoo_eval(run: Any, step: int, results: dict[str, float]) -> None:
    """Evaluation results as ``eval/<metric>.<value>`` scalars."""
    _add_scalars(run, "eval", results, step)


@hookimpl
def ganzoo_train_end(run: Any) -> None:
    """Flush and close the writer."""
    writer = _writers.pop(id(run), None)
    if writer is not None:
        writer.close()
