"""``ae-fd``: the autoencoder ganzoo trains on a data set's own images, its cache, and the metric built on its code."""

from __future__ import annotations

import shutil

import pytest
import torch

from ganzoo.metrics import autoencoder as ae_mod
from ganzoo.metrics.base import EvalContext
from ganzoo.metrics.evaluate import compute
from ganzoo.metrics.evaluator_cache import EvaluatorError, data_sha256, file_sha256

#: 300 MNIST digits train it; 100 steps (instead of at least 200) keep the test fast.
BLOCK = {"name": "mnist", "limit": 300}
QUICK_STEPS = 100


@pytest.fixture(scope="module")
def quick():
    """A short training recipe and no autoencoder remembered from other tests, for this module's tests."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ae_mod, "MIN_STEPS", QUICK_STEPS)
        mp.setattr(ae_mod, "EPOCHS", 1)
        mp.setattr(ae_mod, "_MEMO", {})
        yield


@pytest.fixture(scope="module")
def trained(quick, engine, mnist_root, tmp_path_factory):
    """The autoencoder of 300 MNIST digits, trained once into a temporary cache."""
    return ae_mod.get_autoencoder(BLOCK, mnist_root, "cpu", cache_dir=tmp_path_factory.mktemp("cache"), engine=engine)


def test_training_is_deterministic_for_its_seed_and_leaves_global_state_alone():
    x = torch.rand(48, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    rng, threads = torch.get_rng_state(), torch.get_num_threads()
    a, b, c = (ae_mod.train_autoencoder(x, torch.device("cpu"), steps=4, batch_size=16, seed=s) for s in (3, 3, 4))
    assert torch.equal(torch.get_rng_state(), rng) and torch.get_num_threads() == threads
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)
    assert a.encoder(x).shape == (48, ae_mod.CODE_DIM) and a(x).shape == x.shape


def test_its_protocol_names_the_weights_the_data_and_the_heldout_error(trained, engine, mnist_root):
    train = engine.load_data({"dataset": BLOCK}, "train", mnist_root)
    protocol = trained.protocol()
    assert protocol["evaluator"] == "mnist-ae-v1"
    assert protocol["evaluator_sha256"] == file_sha256(trained.weights_file)
    assert protocol["evaluator_data_sha256"] == data_sha256(train)
    assert (protocol["evaluator_train_samples"], protocol["evaluator_heldout_samples"]) == (270, 30)
    # The held-out digits are reconstructed better than by their mean image: the code holds their structure.
    _, held = ae_mod.heldout_split(len(train), 0)
    digits = torch.nn.functional.interpolate(train.floats()[held], size=32, mode="bilinear", antialias=True)
    assert 0 < protocol["evaluator_heldout_mse"] < float(((digits - digits.mean(0)) ** 2).mean())
    assert trained.features(train.floats()[:5]).shape == (5, ae_mod.CODE_DIM)  # 28x28 is resized to 32x32


def test_a_cached_autoencoder_is_reused_and_a_tampered_one_refused(trained, engine, mnist_root, tmp_path,
                                                                   monkeypatch):
    shutil.copytree(trained.weights_file.parent, tmp_path / "evaluators")
    weights = tmp_path / "evaluators" / trained.weights_file.name

    def no_training(*args, **kwargs):
        raise AssertionError("the cached autoencoder should have been loaded, not retrained")

    monkeypatch.setattr(ae_mod, "train_autoencoder", no_training)
    monkeypatch.setattr(ae_mod, "_MEMO", {})
    again = ae_mod.get_autoencoder(BLOCK, mnist_root, "cpu", cache_dir=tmp_path, engine=engine)
    x = torch.zeros(2, 1, 28, 28)
    assert again.weights_sha256 == trained.weights_sha256 and torch.equal(again.features(x), trained.features(x))
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF
    weights.write_bytes(bytes(data))
    monkeypatch.setattr(ae_mod, "_MEMO", {})
    with pytest.raises(EvaluatorError, match="do not match the sha256"):
        ae_mod.get_autoencoder(BLOCK, mnist_root, "cpu", cache_dir=tmp_path, engine=engine)


def test_points_get_no_autoencoder(engine, tmp_path):
    with pytest.raises(EvaluatorError, match="needs image data"):
        ae_mod.get_autoencoder({"name": "ring8"}, tmp_path, "cpu", cache_dir=tmp_path, engine=engine)


def test_the_metric_ranks_noise_below_real_digits_and_reports_its_reference(trained, engine, mnist_root):
    """ae-fd of uniform noise against the digits is far above its real-vs-real reference; precision collapses."""
    real = engine.load_data({"dataset": BLOCK}, "test", mnist_root)
    noise = torch.rand(150, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    ctx = EvalContext(spec=real.spec, real=real, sample=lambda n, labels: noise[:n], n=150, seed=0,
                      device=torch.device("cpu"), dataset=dict(BLOCK), cache_dir=trained.weights_file.parents[1],
                      data_root=mnist_root)
    result = compute(engine, ["ae-fd"], ctx)["ae-fd"]
    values, protocol = result["values"], result["protocol"]
    assert set(values) == {"fd", "precision", "recall", "density", "coverage"}
    reference = protocol["reference"]
    assert reference["label"] == "real vs real" and reference["samples"] == 150
    assert values["fd"] > 10 * reference["values"]["fd"]
    assert values["precision"] < 0.1 < reference["values"]["precision"]
    assert protocol["name"] == "ae-fd" and protocol["k"] == 5 and protocol["evaluator"] == "mnist-ae-v1"
    assert protocol["real_samples"] == protocol["fake_samples"] == 150
