"""The reference loops the throughput benchmark times ganzoo's loop against: bare, and the naive tutorial pattern."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from ganzoo import contracts
from ganzoo.metrics.base import generator_classes


def sync(device: torch.device) -> None:
    """Wait for queued device work (timing boundaries only)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class Loop:
    """One timed training loop: ``run(steps)`` returns seconds; ``images_per_step`` converts them."""

    name: str
    run: Callable[[int], float]
    images_per_step: int


def _adam(params: Any, schedule: dict, kernel: str | None) -> torch.optim.Optimizer:
    options = {} if kernel is None else {"fused": kernel == "fused", "foreach": kernel == "foreach"}
    return torch.optim.Adam(params, lr=1e-4, betas=tuple(schedule["betas"]), **options)


def _networks(engine: Any, config: dict, spec: Any, device: torch.device) -> tuple[Any, Any, Any]:
    torch.manual_seed(config["train"]["seed"])
    parts = engine.build(config, spec)
    return parts.generator.to(device), parts.discriminator.to(device), parts.loss


def bare_loop(engine: Any, config: dict, device: torch.device, data: Any, fast: Any) -> Loop:
    """The same networks, loss, Adam kernel and precision over device tensors, no loss ever read."""
    from ganzoo.fastpath import prepare_networks

    G, D, loss = _networks(engine, config, data.spec, device)
    prepare_networks((G, D), fast)
    sched = config["schedule"]
    opt_g, opt_d = _adam(G.parameters(), sched, fast.adam), _adam(D.parameters(), sched, fast.adam)
    precision = fast.precision()
    decay = sched.get("ema_decay", 0.0)
    lr_decay = sched.get("lr_decay", 1.0)
    lr_schedulers = [torch.optim.lr_scheduler.ExponentialLR(o, lr_decay) for o in (opt_g, opt_d)] if lr_decay < 1 else []
    ema = [p.detach().clone() for p in G.parameters()] if decay > 0 else None
    penalty = contracts.optional(loss, contracts.Loss, "penalty")
    g_needs_real = contracts.optional(loss, contracts.Loss, "g_needs_real")
    regularization = contracts.optional(G, contracts.Generator, "regularization")
    x = data.floats().to(device)  # float samples held on the device (ganzoo keeps images as uint8)
    y = data.y.to(device) if data.y is not None and generator_classes(G) else None
    batch = config["train"]["batch_size"]
    state = {"perm": torch.randperm(len(x), device=device), "i": 0}

    def step() -> None:
        if (state["i"] + 1) * batch > len(x):
            state["perm"], state["i"] = torch.randperm(len(x), device=device), 0
        idx = state["perm"][state["i"] * batch : (state["i"] + 1) * batch]
        state["i"] += 1
        real, labels = x[idx], (y[idx] if y is not None else None)
        z = torch.randn(batch, G.latent_dim, device=device)
        with precision.autocast():
            fake = G(z, labels)
            d_loss = loss.d_loss(D(real, labels), D(fake.detach(), labels))
            if penalty is not None:
                d_loss = d_loss + penalty(D, real, fake, labels)
        opt_d.zero_grad(set_to_none=True)
        precision.backward(d_loss)
        precision.step(opt_d)
        with precision.autocast():
            g_loss = loss.g_loss(D(fake, labels), D(real, labels)) if g_needs_real else loss.g_loss(D(fake, labels))
            if regularization is not None:
                g_loss = g_loss + regularization()
        opt_g.zero_grad(set_to_none=True)
        precision.backward(g_loss)
        precision.step(opt_g)
        if ema is not None:
            torch._foreach_lerp_(ema, [p.detach() for p in G.parameters()], 1 - decay)
        for scheduler in lr_schedulers:
            scheduler.step()

    return Loop("bare", _timed(step, device), batch)


class TutorialDataset(torch.utils.data.Dataset):
    """A torchvision-style dataset: uint8 images as PIL, per-sample transforms (float samples for points/video)."""

    def __init__(self, data: Any) -> None:
        from torchvision import transforms

        self.images = data.spec.kind == "image"
        self.x = ((data.floats() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy() if self.images \
            else data.x.numpy()
        self.y = data.y.numpy() if data.y is not None else None
        c = data.spec.channels
        self.transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,) * c, (0.5,) * c)])

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        from PIL import Image

        if self.images:
            img = self.x[i].transpose(1, 2, 0)
            sample = self.transform(Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img))
        else:
            sample = torch.from_numpy(self.x[i].copy())
        return sample, int(self.y[i]) if self.y is not None else 0


def tutorial_dataset(config: dict, data: Any, root: Path) -> torch.utils.data.Dataset:
    """torchvision's own MNIST with ToTensor + Normalize where the experiment uses it, else TutorialDataset."""
    block = config["dataset"]
    if block["name"] == "mnist" and not block.get("image_size") and not block.get("limit"):
        from torchvision import datasets, transforms

        tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
        return datasets.MNIST(str(root), train=True, download=False, transform=tf)
    return TutorialDataset(data)


def naive_loop(engine: Any, config: dict, device: torch.device, data: Any, root: Path) -> Loop:
    """The tutorial pattern: DataLoader with per-sample transforms, default Adam, fp32, .item() every step."""
    G, D, loss = _networks(engine, config, data.spec, device)
    sched = config["schedule"]
    opt_g, opt_d = _adam(G.parameters(), sched, None), _adam(D.parameters(), sched, None)
    conditional = bool(generator_classes(G))
    batch = config["train"]["batch_size"]
    loader = torch.utils.data.DataLoader(tutorial_dataset(config, data, root), batch_size=batch, shuffle=True,
                                         drop_last=True)
    batches = iter(())
    history: list[float] = []

    def step() -> None:
        nonlocal batches
        try:
            real, labels = next(batches)
        except StopIteration:
            batches = iter(loader)
            real, labels = next(batches)
        real = real.to(device)
        labels = labels.to(device) if conditional else None
        z = torch.randn(batch, G.latent_dim, device=device)
        fake = G(z, labels)
        d_loss = loss.d_loss(D(real, labels), D(fake.detach(), labels))
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = loss.g_loss(D(fake, labels))
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        history.append(d_loss.item())
        history.append(g_loss.item())

    return Loop("naive", _timed(step, device), batch)


def _timed(step: Callable[[], None], device: torch.device) -> Callable[[int], float]:
    def run(steps: int) -> float:
        sync(device)
        start = time.perf_counter()
        for _ in range(steps):
            step()
        sync(device)
        return time.perf_counter() - start

    return run
