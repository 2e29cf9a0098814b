"""Fast paths: each trains with finite losses, defaults per device, validation, checkpoints, no-sync EMA."""

from __future__ import annotations

import copy

import pytest
import torch

from conftest import TINY_RING
from ganzoo import fastpath
from ganzoo.cli import main
from ganzoo.errors import ConfigError, GanzooError
from ganzoo.trainer import Trainer

TINY_DCGAN = ["dataset.limit=256", "network.width=4", "network.latent_dim=8", "train.batch_size=32"]
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _sets(pairs: list[str]) -> list[str]:
    return [p for p in pairs if p != "--set"]


def _train(engine, tmp_path, experiment: str, overrides: list[str], data_root=None, steps: int = 4,
           device: str = "cpu") -> Trainer:
    config = engine.resolve(experiment, overrides + [f"train.steps={steps}", "train.log_every=2", "eval.metrics=[]",
                                                     "eval.primary=null", "train.sample_every=1000"])
    data = engine.load_data(config, "train", data_root or tmp_path)
    trainer = Trainer(engine, config, torch.device(device), tmp_path / "run", data, data_root or tmp_path,
                      progress=False)
    (tmp_path / "run").mkdir(exist_ok=True)
    trainer.train()
    return trainer


def _losses(trainer: Trainer) -> list[float]:
    import json

    events = [json.loads(line) for line in (trainer.run_dir / "metrics.jsonl").read_text().splitlines()]
    return [e[k] for e in events if e["event"] == "train" for k in ("d_loss", "g_loss")]


@pytest.mark.parametrize("option", ["train.amp=bf16", "train.adam=foreach", "train.adam=for-loop", "train.threads=1"])
def test_each_fast_path_trains_an_mlp_with_finite_losses(engine, tmp_path, option):
    trainer = _train(engine, tmp_path, "gan-ring8", _sets(TINY_RING) + [option])
    losses = _losses(trainer)
    assert len(losses) == 4 and all(torch.isfinite(torch.tensor(losses)))
    key, value = option.split("=")
    assert str(trainer.fast.describe()[key.split(".")[1]]).lower() in (value, "true")


def test_bf16_autocast_reaches_the_networks_and_fused_adam_is_selected(engine, tmp_path, mnist_root):
    trainer = _train(engine, tmp_path, "dcgan-mnist", TINY_DCGAN + ["train.amp=bf16", "train.channels_last=on"],
                     data_root=mnist_root, steps=2)
    seen = []
    hook = trainer.discriminator.body[0].register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    trainer.schedule.step(trainer.batcher.next)
    hook.remove()
    assert seen and set(seen) == {torch.bfloat16}
    conv = trainer.generator.body[0].weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    assert all(g["fused"] and not g["foreach"] for g in trainer.schedule.opt_d.param_groups)
    assert all(torch.isfinite(torch.tensor(_losses(trainer))))


def test_compiled_networks_train_with_finite_losses_and_plain_checkpoint_keys(engine, tmp_path, monkeypatch):
    """Dynamo traces both networks in place; the eager backend keeps inductor's C++ build out of the test budget."""
    compile_module = torch.nn.Module.compile
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, **kw: compile_module(self, backend="eager", **kw))
    tiny = ["dataset.n=512", "network.hidden=8", "network.d_hidden=8", "network.depth=1", "network.d_depth=1",
            "train.batch_size=64", "schedule.ema_decay=0.0", "sample.n=64"]
    trainer = _train(engine, tmp_path, "gan-ring8", tiny + ["train.compile=true"], steps=2)
    assert trainer.generator._compiled_call_impl is not None
    assert all(torch.isfinite(torch.tensor(_losses(trainer))))
    assert not any("_orig_mod" in k for k in trainer.state_dict()["generator"])


@pytest.mark.parametrize("loss", [["loss.r1_gamma=1.0", "loss.r2_gamma=1.0"], ["loss.name=wgan-gp"]])
def test_compiled_networks_train_with_gradient_penalties(engine, tmp_path, monkeypatch, loss):
    """AOTAutograd graphs cannot be differentiated twice: R1, R2 and WGAN-GP run D eagerly (fastpath.eager).

    The aot_eager backend builds the same AOTAutograd graphs as inductor without its C++ build.
    """
    compile_module = torch.nn.Module.compile
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, **kw: compile_module(self, backend="aot_eager", **kw))
    tiny = ["dataset.n=512", "network.hidden=8", "network.d_hidden=8", "network.depth=1", "network.d_depth=1",
            "train.batch_size=64", "schedule.ema_decay=0.0", "sample.n=64"]
    trainer = _train(engine, tmp_path, "gan-ring8", tiny + loss + ["train.compile=true"], steps=2)
    assert trainer.discriminator._compiled_call_impl is not None
    assert fastpath.eager(trainer.discriminator) != trainer.discriminator
    assert all(torch.isfinite(torch.tensor(_losses(trainer))))


def test_auto_channels_last_is_off_for_compiled_networks_on_cuda_only():
    """pytorch/pytorch#171622: inductor mispredicts channels_last conv-transpose gradients on CUDA, not on the CPU."""
    assert fastpath.auto_channels_last(torch.device("cuda"), compiled=False)
    assert not fastpath.auto_channels_last(torch.device("cuda"), compiled=True)
    assert fastpath.auto_channels_last(torch.device("cpu"), compiled=True)
    assert not fastpath.auto_channels_last(torch.device("mps"), compiled=False)


def test_cpu_defaults_are_the_measured_ones(engine):
    config = engine.resolve("dcgan-mnist")
    fast = fastpath.resolve(config["train"], torch.device("cpu"), conv_net=True)
    assert (fast.amp, fast.compile, fast.channels_last, fast.adam) == ("off", False, True, "fused")
    mlp = fastpath.resolve(engine.resolve("cgan-mnist")["train"], torch.device("cpu"), conv_net=False)
    assert not mlp.channels_last
    assert fast.threads == fastpath.default_threads() >= 1
    assert not fast.cudagraphs


@pytest.mark.parametrize("overrides, device, message", [
    (["train.amp=fp16"], "cpu", "--amp fp16 needs a CUDA GPU"),
    (["train.amp=bf16"], "mps", "not supported on mps"),
    (["train.compile=true", "train.compile_mode=reduce-overhead"], "cpu", "needs CUDA"),
])
def test_impossible_fast_paths_are_one_line_errors(engine, overrides, device, message):
    config = engine.resolve("gan-ring8", overrides)
    with pytest.raises(ConfigError, match=message) as info:
        fastpath.resolve(config["train"], torch.device(device), conv_net=False)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("override", ["train.amp=fp8", "train.compile_mode=fast", "train.channels_last=sometimes",
                                      "train.adam=sgd", "train.threads=-2", "train.compile=maybe"])
def test_bad_fast_path_values_are_config_errors(engine, override):
    with pytest.raises(ConfigError):
        engine.resolve("gan-ring8", [override])


@pytest.mark.parametrize("options, message", [
    (["--amp", "fp16"], "--amp fp16 needs a CUDA GPU"),
    (["--compile", "--compile-mode", "reduce-overhead"], "reduce-overhead captures CUDA graphs"),
    (["--compile", "--compile-mode", "fastest"], "train.compile_mode must be one of"),
    (["--channels-last", "sometimes"], "train.channels_last must be one of"),
])
def test_cli_refuses_bad_fast_paths_in_one_line(tmp_path, capsys, monkeypatch, options, message):
    monkeypatch.setenv("GANZOO_OFFLINE", "1")
    code = main(["run", "gan-ring8", "--device", "cpu", *options, "--steps", "2", *TINY_RING,
                 "--out", str(tmp_path / "run"), "--no-progress"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and message in lines[0]
    assert not (tmp_path / "run").exists()


def test_compile_without_a_compiler_is_refused(monkeypatch):
    monkeypatch.setattr(fastpath.shutil, "which", lambda name: None)
    with pytest.raises(GanzooError, match="C\\+\\+ compiler"):
        fastpath.check_compile(torch.device("cpu"), "default")


def test_threads_default_to_omp_num_threads_then_physical_cores(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert fastpath.default_threads() == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert 1 <= fastpath.default_threads() == fastpath.physical_cores() <= (torch.get_num_threads() * 64)
    before = torch.get_num_threads()
    try:
        fastpath.apply_threads(1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_resume_keeps_the_kernel_this_run_chose(engine, tmp_path):
    trainer = _train(engine, tmp_path, "gan-ring8", _sets(TINY_RING) + ["train.adam=fused"], steps=2)
    state = copy.deepcopy(trainer.schedule.state_dict())
    other = engine.make_schedule(trainer.config, trainer.components, trainer.spec)
    fastpath.use_fast_paths(other, fastpath.FastPaths(torch.device("cpu"), "off", False, "default", False,
                                                      "foreach", 1), amp_requested=False)
    other.load_state_dict(state)
    assert all(g["foreach"] and not g["fused"] for g in other.opt_g.param_groups)
    assert other.opt_g.state_dict()["state"].keys() == state["opt_g"]["state"].keys()


def test_ema_warms_up_then_follows_its_decay(engine):
    """EMA step n uses decay min(0.9, (1+n)/(10+n)): a copy first, then G's recent weights dominate early on."""
    config = engine.resolve("gan-ring8", _sets(TINY_RING) + ["schedule.ema_decay=0.9"])
    from ganzoo.spec import DataSpec

    parts = engine.build(config, DataSpec((2,), 0, (-2.0, 2.0)))
    parts.generator = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    parts.generator.latent_dim = 3
    schedule = engine.make_schedule(config, parts, None)
    expected = None
    for n in range(120):
        with torch.no_grad():
            for p in parts.generator.parameters():
                p.add_(torch.randn_like(p))
            parts.generator(torch.randn(5, 3))
        schedule._update_ema()
        current = {k: v.clone() for k, v in parts.generator.state_dict().items()}
        if expected is None:
            expected = current
        else:
            decay = min(0.9, (1 + n) / (10 + n))
            expected = {k: current[k] if not v.is_floating_point() else decay * v + (1 - decay) * current[k]
                        for k, v in expected.items()}
    mine = schedule.ema.module.state_dict()
    for key, value in expected.items():
        assert torch.allclose(mine[key], value, atol=1e-5), key
    assert int(schedule.ema.n_averaged) == 120 and schedule.ema.n_averaged.device.type == "cpu"


@needs_cuda
def test_cuda_defaults_bf16_channels_last_fused(engine):
    config = engine.resolve("dcgan-mnist")
    fast = fastpath.resolve(config["train"], torch.device("cuda"), conv_net=True)
    assert fast.channels_last and fast.adam == "fused"
    assert fast.amp == ("bf16" if torch.cuda.is_bf16_supported() else "off")


@needs_cuda
@pytest.mark.parametrize("extra", [[], ["train.amp=fp16"], ["train.compile=true", "train.compile_mode=reduce-overhead"]])
def test_cuda_fast_paths_train_with_finite_losses(engine, tmp_path, mnist_root, extra):
    trainer = _train(engine, tmp_path, "dcgan-mnist", TINY_DCGAN + extra, data_root=mnist_root, steps=4,
                     device="cuda")
    assert all(torch.isfinite(torch.tensor(_losses(trainer))))


def test_a_video_network_gets_channels_last_3d_and_computes_the_same(engine):
    """VGAN holds 3D and 2D convolutions: each weight gets its rank's layout, the outputs stay the same."""
    from ganzoo.spec import DataSpec

    G, D = engine.registry.get("networks", "vgan").obj(DataSpec((1, 8, 16, 16)), latent_dim=8, width=4, d_width=4)
    assert fastpath.has_conv((G, D))
    G.eval(), D.eval()
    z = torch.randn(3, 8)
    before = D(G(z))
    fast = fastpath.resolve(engine.resolve("vgan-moving-mnist")["train"], torch.device("cpu"), conv_net=True)
    assert fast.channels_last
    fastpath.prepare_networks((G, D), fast)
    assert G.foreground[0].weight.is_contiguous(memory_format=torch.channels_last_3d)
    assert D.net[0].weight.is_contiguous(memory_format=torch.channels_last_3d)
    assert G.background[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert not G.foreground[0].weight.is_contiguous()
    torch.testing.assert_close(D(G(z)), before, rtol=1e-4, atol=1e-5)
