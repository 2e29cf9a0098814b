"""Fast paths for one training run: mixed precision, torch.compile, channels_last, the Adam kernel, CPU threads.

Each is a ``train.`` config key (and a ``ganzoo run`` option). ``auto`` picks per device what the
throughput benchmark (benchmarks/throughput.py) and standard practice found faster: channels_last
for convolutional networks, channels_last_3d for 3D ones (measured on the CPU: 1.2x faster DCGAN
and 1.7x faster VGAN steps; not for networks compiled on CUDA, ``auto_channels_last``), fused Adam
everywhere (2-6x faster optimizer steps on the CPU), bf16 autocast on CUDA and fp32 on the CPU (bf16
measured 0.75x there). torch.compile is opt-in everywhere (it costs compile time up front); its
``reduce-overhead`` mode captures CUDA graphs, which help the launch-bound small networks on a GPU.
"""

from __future__ import annotations

import itertools
import os
import shutil
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import torch

from ganzoo.config import CHOICES
from ganzoo.errors import ConfigError

COMPILE_MODES = CHOICES["train.compile_mode"]
#: Compile modes that capture CUDA graphs.
CUDAGRAPH_MODES = ("reduce-overhead", "max-autotune")


class FastPathError(ConfigError):
    """A fast path this device or this torch cannot run."""


@dataclass(frozen=True)
class FastPaths:
    """The fast paths one run uses, resolved for its device (no ``auto`` left)."""

    device: torch.device
    amp: str
    compile: bool
    compile_mode: str
    channels_last: bool
    adam: str
    threads: int

    @property
    def cudagraphs(self) -> bool:
        """True when compiled networks replay CUDA graphs (the loop marks each step's start)."""
        return self.compile and self.device.type == "cuda" and self.compile_mode in CUDAGRAPH_MODES

    def precision(self) -> "Precision":
        """A fresh autocast / gradient-scaling helper for a schedule."""
        return Precision(self.device.type, self.amp)

    def describe(self) -> dict[str, Any]:
        """Plain form for config.yaml's run block and benchmark results."""
        return {"amp": self.amp, "compile": self.compile, "compile_mode": self.compile_mode if self.compile else None,
                "channels_last": self.channels_last, "adam": self.adam, "threads": self.threads}


class Precision:
    """Autocast for forward passes and, for fp16, a GradScaler around backward and optimizer steps.

    With fused Adam the scaler's inf check runs inside the kernel, so fp16 steps stay free of host syncs.
    """

    def __init__(self, device_type: str = "cpu", amp: str = "off") -> None:
        self.device_type = device_type
        self.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(amp)
        self.scaler = torch.amp.GradScaler(device_type) if amp == "fp16" else None

    def autocast(self) -> AbstractContextManager:
        """The context for forward passes and losses (a no-op at full precision)."""
        return torch.autocast(self.device_type, dtype=self.dtype) if self.dtype is not None else nullcontext()

    def backward(self, loss: torch.Tensor) -> None:
        """Backpropagate ``loss`` (scaled under fp16)."""
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        """Step ``optimizer`` (unscaling and updating the scale under fp16)."""
        if self.scaler is None:
            optimizer.step()
            return
        self.scaler.step(optimizer)
        self.scaler.update()

    def state_dict(self) -> dict:
        """The gradient scaler's state ({} without one)."""
        return self.scaler.state_dict() if self.scaler is not None else {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what state_dict() saved (ignored without a scaler)."""
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)


def resolve(train: dict, device: torch.device, conv_net: bool) -> FastPaths:
    """The fast paths of a config's ``train`` section on ``device``; impossible choices are one-line errors.

    ``conv_net`` says whether the networks hold 2D or 3D convolutions (channels_last applies to them).
    """
    amp = _amp(train["amp"], device)
    compile_mode = train["compile_mode"]
    if train["compile"]:
        check_compile(device, compile_mode)
    layout = train["channels_last"]
    if layout == "auto":
        channels_last = conv_net and auto_channels_last(device, bool(train["compile"]))
    else:
        channels_last = bool(layout)
    adam = train["adam"]
    if adam == "auto":
        adam = "fused" if device.type in ("cuda", "cpu") else "foreach"
    if adam == "fused" and device.type not in ("cuda", "cpu", "mps"):
        raise FastPathError(f"train.adam=fused has no kernel on {device.type}; use foreach or for-loop")
    return FastPaths(device, amp, bool(train["compile"]), compile_mode, channels_last, adam,
                     train["threads"] or default_threads())


def auto_channels_last(device: torch.device, compiled: bool) -> bool:
    """channels_last for conv networks under ``auto``: on the CPU, and on CUDA unless compiled.

    Inductor predicts contiguous strides for the backward of channels_last transposed convolutions
    while CUDA returns channels_last ones (pytorch/pytorch#171622), so a compiled DCGAN failed its
    stride check on an H100 (torch 2.11); the CPU is not affected.
    """
    return device.type == "cpu" or (device.type == "cuda" and not compiled)


def _amp(requested: str, device: torch.device) -> str:
    if requested == "auto":
        return "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "off"
    if requested == "off":
        return "off"
    if device.type == "cpu" and requested == "fp16":
        raise FastPathError("--amp fp16 needs a CUDA GPU; on the CPU use --amp bf16 or off")
    if device.type not in ("cpu", "cuda"):
        raise FastPathError(f"--amp {requested} is not supported on {device.type}; use --amp off")
    if requested == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise FastPathError("--amp bf16: this GPU has no bfloat16 support; use --amp fp16")
    return requested


def check_compile(device: torch.device, mode: str) -> None:
    """Refuse torch.compile where it cannot run: no dynamo, no C++ compiler (CPU), no Triton (GPU), bad mode."""
    if mode not in COMPILE_MODES:
        raise FastPathError(f"unknown compile mode {mode!r}; use one of {', '.join(COMPILE_MODES)}")
    if mode == "reduce-overhead" and device.type != "cuda":
        raise FastPathError(f"--compile-mode reduce-overhead captures CUDA graphs and needs CUDA, not {device.type}; "
                            "use --compile-mode default")
    import torch._dynamo

    if not torch._dynamo.is_dynamo_supported():
        raise FastPathError("--compile: torch.compile is not available with this Python/torch; drop --compile")
    if device.type == "cuda":
        from torch.utils._triton import has_triton

        if not has_triton():
            raise FastPathError("--compile on CUDA needs Triton (pip install triton); drop --compile")
    elif device.type == "cpu" and not any(shutil.which(c) for c in (os.environ.get("CXX", ""), "g++", "c++", "clang++") if c):
        raise FastPathError("--compile on the CPU needs a C++ compiler (g++ or clang++) on PATH; drop --compile")


def physical_cores() -> int:
    """Physical cores this process may run on (hyper-threads counted once)."""
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    cores = set()
    for cpu in cpus:
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            cores.add(((topology / "physical_package_id").read_text().strip(), (topology / "core_id").read_text().strip()))
        except OSError:
            cores.add(("cpu", str(cpu)))
    return max(1, len(cores))


def default_threads() -> int:
    """Intra-op threads: OMP_NUM_THREADS when set (torchrun sets it per worker), else the physical cores."""
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(env) if env.isdigit() and int(env) > 0 else physical_cores()


def apply_threads(threads: int) -> None:
    """Use ``threads`` intra-op threads and one inter-op thread (the loop runs one op stream)."""
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    if torch.get_num_interop_threads() != 1:
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass  # inter-op work already started in this process: torch keeps its pool


def has_conv(modules: Iterable[torch.nn.Module]) -> bool:
    """True when the modules hold 2D or 3D (transposed) convolutions."""
    conv = (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Conv3d, torch.nn.ConvTranspose3d)
    return any(isinstance(m, conv) for module in modules for m in module.modules())


def to_channels_last(net: torch.nn.Module) -> None:
    """Store every 4-D weight channels_last and every 5-D one channels_last_3d, in place.

    ``Module.to(memory_format=...)`` takes one format for all ranks, so it cannot convert a video
    network that holds both (VGAN's 2D background stream beside its 3D foreground stream).
    """
    formats = {4: torch.channels_last, 5: torch.channels_last_3d}
    for tensor in itertools.chain(net.parameters(), net.buffers()):
        if tensor.dim() in formats:
            tensor.data = tensor.data.contiguous(memory_format=formats[tensor.dim()])


def prepare_networks(networks: Iterable[torch.nn.Module], fast: FastPaths) -> None:
    """channels_last weights and in-place torch.compile (state dict keys unchanged), as ``fast`` says."""
    for net in networks:
        if fast.channels_last:
            to_channels_last(net)
        if fast.compile:
            net.compile(mode=None if fast.compile_mode == "default" else fast.compile_mode)


def eager(net: torch.nn.Module) -> Callable[..., Any]:
    """``net`` called without torch.compile, for gradient penalties (R1, R2, WGAN-GP).

    A network compiled in place (``prepare_networks``) runs AOTAutograd graphs, which cannot be
    differentiated twice; a penalty differentiates D's input gradient, so it calls D through this
    (the same weights and hooks, run eagerly). An uncompiled network is returned as it is.
    """
    return net._call_impl if getattr(net, "_compiled_call_impl", None) is not None else net


def set_adam_kernel(optimizer: torch.optim.Optimizer, kernel: str) -> None:
    """Select Adam's implementation (fused, foreach or for-loop) in every parameter group; call before the first step."""
    for group in optimizer.param_groups:
        group["fused"] = kernel == "fused"
        group["foreach"] = kernel == "foreach"
    # What Adam(fused=...) sets: GradScaler hands a fused kernel the scale instead of unscaling on the host.
    optimizer._step_supports_amp_scaling = kernel == "fused"


def mark_step_begin(fast: FastPaths) -> None:
    """Tell CUDA-graph trees a new iteration starts (the previous step's graph outputs are dead)."""
    if fast.cudagraphs:
        torch.compiler.cudagraph_mark_step_begin()


def use_fast_paths(schedule: Any, fast: FastPaths, amp_requested: bool) -> None:
    """Hand the schedule its precision and Adam kernel (``schedule.use_fast_paths``).

    A schedule without that method trains at full precision with its own optimizers; asking it
    for autocast explicitly (``amp_requested``) is then an error rather than a silent no-op.
    """
    from ganzoo import contracts

    hook = contracts.optional(schedule, contracts.Schedule, "use_fast_paths")
    if hook is not None:
        hook(fast)
    elif fast.amp != "off" and amp_requested:
        raise FastPathError(f"this schedule ({type(schedule).__name__}) does not support --amp; use --amp off")
