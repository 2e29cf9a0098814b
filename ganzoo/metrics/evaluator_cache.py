"""What every self-trained evaluator shares: the data it saw, its cache entry, its training conditions.

An evaluator (the MNIST-like classifier of ``ganzoo.metrics.evaluator``, the autoencoder of
``ganzoo.metrics.autoencoder``) is trained by ganzoo on a data set's train split and cached under
``CACHE/evaluators/NAME-DATAHASH16.{pt,json}``: the weights, and beside them a JSON holding the
sha256 of the weight file, the sha256 of the data it saw and what else makes its numbers
comparable. A cached file whose sha256 differs from the one recorded is refused, never retrained
over silently.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import torch
from torch import nn

from ganzoo.checkpoint import atomic_write_bytes
from ganzoo.device import forked_rng
from ganzoo.errors import GanzooError
from ganzoo.spec import floats_to_pixels

if TYPE_CHECKING:
    from ganzoo.engine import Engine
    from ganzoo.spec import Data


class EvaluatorError(GanzooError):
    """An evaluator that cannot be built, trained or trusted for this data."""


def data_sha256(data: "Data") -> str:
    """sha256 of a data set's images (as 8-bit pixels) and labels: what an evaluator saw."""
    h = hashlib.sha256(repr(tuple(data.x.shape)).encode())
    for i in range(0, len(data.x), 4096):  # in blocks: a streamed set is never all in memory
        x = floats_to_pixels(data.x[i : i + 4096], data.spec.value_range)
        h.update(x.contiguous().numpy().tobytes())
    if data.y is not None:
        h.update(data.y.to(torch.int64).contiguous().numpy().tobytes())
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def evaluator_block(dataset_config: dict | str, ignored: tuple[str, ...]) -> dict:
    """The data set block that identifies an evaluator: the run's, without the options it ignores."""
    block = {"name": dataset_config} if isinstance(dataset_config, str) else dict(dataset_config)
    for key in ignored:
        block.pop(key, None)
    return block


@dataclass(frozen=True)
class EvaluatorSource:
    """What an evaluator is built from: its data set block, data root, cache directory and device, and
    ``key``, the in-process memo key that identifies it (with any extra parts, such as a seed)."""

    block: dict
    root: Path
    cache: Path
    device: torch.device
    key: tuple

    def load(self, split: str, engine: "Engine") -> "Data":
        """The block's data set, ``split`` of it, from the data root."""
        return engine.load_data({"dataset": self.block}, split, self.root)


def evaluator_source(dataset_config: dict | str, ignored: tuple[str, ...], data_root: Path | str | None,
                     device: torch.device | str, cache_dir: Path | None, *extra: Any) -> EvaluatorSource:
    """Resolve a ``get_*`` evaluator call's arguments: the data set block without the ``ignored`` options,
    the data root (--data-root / GANZOO_DATA / the user cache) and the cache directory."""
    from ganzoo.data import default_data_root

    block = evaluator_block(dataset_config, ignored)
    root, cache, device = default_data_root(data_root), cache_root(cache_dir), torch.device(device)
    key = (json.dumps(block, sort_keys=True), str(root), str(device), str(cache), *extra)
    return EvaluatorSource(block, root, cache, device, key)


def evaluator_identity(name: str, weights_sha256: str, data_sha256: str, train_samples: int) -> dict:
    """The protocol keys every self-trained evaluator opens with: its name, the sha256 of its weights and of the
    data it trained on, and how many samples that was."""
    return {"evaluator": name, "evaluator_sha256": weights_sha256, "evaluator_data_sha256": data_sha256,
            "evaluator_train_samples": train_samples}


def default_engine(engine: "Engine | None") -> "Engine":
    """``engine``, else an engine with the installed plugins."""
    if engine is not None:
        return engine
    from ganzoo.engine import Engine

    return Engine()


@contextlib.contextmanager
def one_cpu_thread(device: torch.device) -> Iterator[None]:
    """Train on one thread on the CPU: the weights then do not depend on the machine's core count, and the
    small batches of an evaluator run faster than with threads waiting on each other."""
    threads = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def shuffled_batches(n: int, batch_size: int, steps: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """``steps`` batches of indices into ``n`` samples, in seeded shuffled order: a fresh permutation from
    ``generator`` whenever the current one has too few left for a whole batch (batches never wrap)."""
    perm, pos = torch.randperm(n, generator=generator), 0
    for _ in range(steps):
        if pos + batch_size > len(perm):
            perm, pos = torch.randperm(n, generator=generator), 0
        yield perm[pos : pos + batch_size]
        pos += batch_size


def train_seeded(build: Callable[[], nn.Module], samples: int,
                 batch_loss: Callable[[nn.Module, torch.Tensor, torch.Generator], torch.Tensor], *,
                 device: torch.device, steps: int, batch_size: int, lr: float, seed: int) -> nn.Module:
    """The evaluators' training loop, the same for every run on a machine: ``build()`` initialized under
    ``seed`` (torch's global RNG forked, so the caller's stays as it was), ``steps`` seeded shuffled
    batches of indices into ``samples`` (``shuffled_batches``), Adam with a one-cycle schedule (15%
    warm-up to ``lr``), one thread on the CPU (``one_cpu_thread``). ``batch_loss(model, indices,
    generator)`` is one batch's loss; the generator is the seeded one the batches come from (for
    augmentation). Returns the model in eval mode."""
    with one_cpu_thread(device), forked_rng(device):
        torch.manual_seed(seed)
        model = build().to(device)
        g = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
        model.train()
        for idx in shuffled_batches(samples, batch_size, steps, g):
            loss = batch_loss(model, idx, g)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


@torch.no_grad()
def batched(fn: nn.Module, x: torch.Tensor, device: torch.device, batch: int = 1000) -> torch.Tensor:
    """``fn`` over ``x`` in batches on ``device``, as float32 on the CPU."""
    return torch.cat([fn(x[i : i + batch].to(device)).float().cpu() for i in range(0, len(x), batch)])


def load_cached(stem: Path, model: nn.Module, device: torch.device) -> tuple[nn.Module, dict] | None:
    """``model`` (freshly built) with the weights cached at ``stem.pt`` and the facts in ``stem.json``; None when
    absent. A file that does not match the sha256 recorded beside it, or does not load, is a clear error."""
    weights, meta_path = stem.with_suffix(".pt"), stem.with_suffix(".json")
    if not (weights.is_file() and meta_path.is_file()):
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        expected = meta["weights_sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        raise EvaluatorError(f"evaluator cache {meta_path} is unreadable; delete {stem}.* to retrain it") from None
    if file_sha256(weights) != expected:
        raise EvaluatorError(
            f"evaluator weights {weights} do not match the sha256 recorded beside them; delete {stem}.* to retrain"
        )
    try:
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    except Exception as exc:  # a cache file of the wrong form: say which, never a traceback
        raise EvaluatorError(f"evaluator weights {weights} cannot be loaded ({type(exc).__name__}); "
                             f"delete {stem}.* to retrain") from None
    return model.to(device).eval(), meta


def save_cached(stem: Path, model: nn.Module, facts: dict) -> dict:
    """Write ``model``'s weights to ``stem.pt`` and, to ``stem.json``, their sha256 with ``facts`` and the ganzoo
    version; returns what the JSON holds."""
    from ganzoo import __version__

    buf = io.BytesIO()
    torch.save({k: v.cpu() for k, v in model.state_dict().items()}, buf)
    payload = buf.getvalue()
    meta = {"weights_sha256": hashlib.sha256(payload).hexdigest(), **facts, "ganzoo_version": __version__}
    atomic_write_bytes(payload, stem.with_suffix(".pt"))
    atomic_write_bytes((json.dumps(meta, indent=2) + "\n").encode(), stem.with_suffix(".json"))
    return meta


def cached_or_trained(stem: Path, data_hash: str, build: Callable[[], nn.Module],
                      train: Callable[[], tuple[nn.Module, dict]], device: torch.device) -> tuple[nn.Module, dict]:
    """The evaluator cached at ``stem`` (``build()`` makes the empty model), else ``train()`` it now (it returns the
    model and the facts to record) and cache it; either way trained on the data whose sha256 is ``data_hash``."""
    found = load_cached(stem, build(), device)
    if found is None:
        from ganzoo.runlock import waiting_for

        with waiting_for(stem.with_suffix(".lock")):  # parallel runs (bench --jobs) train it once, not each
            found = load_cached(stem, build(), device)
            if found is None:
                model, facts = train()
                found = model, save_cached(stem, model, {"data_sha256": data_hash, **facts})
    if found[1].get("data_sha256") != data_hash:
        raise EvaluatorError(f"evaluator cache {stem}.json was trained on other data; delete {stem}.* to retrain")
    return found


def cache_root(cache_dir: Path | None) -> Path:
    """The cache directory evaluators live under: ``cache_dir``, else ganzoo's user cache."""
    from ganzoo.data import user_cache_dir

    return Path(cache_dir) if cache_dir is not None else user_cache_dir()


def cache_stem(cache: Path, name: str, data_hash: str) -> Path:
    """``CACHE/evaluators/NAME-HASH16``: where an evaluator of this name trained on this data is cached."""
    return Path(cache) / "evaluators" / f"{name}-{data_hash[:16]}"
