"""ganzoo-lecam: the conformance suite, plus what makes the loss LeCam's."""

import io

import pytest
import torch

import ganzoo_lecam
from ganzoo import DataSpec
from ganzoo.errors import ConfigError
from ganzoo.testing import TinyGenerator, conformance_suite, same_state
from ganzoo_lecam.loss import LeCamHinge

test_conformance = conformance_suite(ganzoo_lecam)


def test_regularizer_ties_each_set_of_logits_to_the_other_sets_average():
    """R_LC = E (D(x) - α_F)² + E (D(G(z)) - α_R)², with the anchors the first batch's mean logits."""
    loss = LeCamHinge(weight=0.5)
    real, fake = torch.tensor([2.0, 4.0]), torch.tensor([-1.0, -3.0])
    value = loss.d_loss(real, fake)
    assert (loss.anchor_real.item(), loss.anchor_fake.item()) == (3.0, -2.0)
    regularizer = ((2 + 2) ** 2 + (4 + 2) ** 2) / 2 + ((-1 - 3) ** 2 + (-3 - 3) ** 2) / 2
    # the hinge terms vanish: every real logit is at least 1 and every fake one at most -1
    assert value.item() == pytest.approx(0.5 * regularizer)


def test_anchors_are_moving_averages_with_the_given_decay():
    """Each D update moves each anchor by (1 - decay) toward that batch's mean logit."""
    loss = LeCamHinge(decay=0.9)
    loss.d_loss(torch.zeros(4), torch.zeros(4))
    loss.d_loss(torch.full((4,), 10.0), torch.full((4,), -10.0))
    assert loss.anchor_real.item() == pytest.approx(1.0) and loss.anchor_fake.item() == pytest.approx(-1.0)


def test_regularizer_pulls_the_logits_together():
    """Its gradient lowers the real logits and raises the fake ones, where the hinge loss alone gives none."""
    loss = LeCamHinge(weight=1.0)
    real = torch.full((3,), 5.0, requires_grad=True)
    fake = torch.full((3,), -5.0, requires_grad=True)
    loss.d_loss(real, fake).backward()
    assert (real.grad > 0).all() and (fake.grad < 0).all()  # descent lowers real, raises fake
    plain = LeCamHinge(weight=0.0)
    real.grad = fake.grad = None
    plain.d_loss(real, fake).backward()
    assert not real.grad.any() and not fake.grad.any()


class Critic(torch.nn.Module):
    """A small critic on 2D points, one logit each."""

    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """One logit per point; labels are ignored."""
        return self.net(x).squeeze(1)


def checkpointed(state):
    """``state`` after a trip through a checkpoint, loaded back weights-only as ganzoo loads them."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_a_resumed_run_continues_the_anchors(ganzoo_register):
    """Through ganzoo's alternating schedule, whose state holds the loss's anchors: two iterations after a
    checkpoint round trip equal two iterations without it."""
    alternating = ganzoo_register(ganzoo_lecam).registry.get("schedules", "alternating").obj

    def fresh(saved=None):
        torch.manual_seed(0)
        G, D = TinyGenerator(), Critic()
        if saved is not None:
            G.load_state_dict(saved["G"])
            D.load_state_dict(saved["D"])
        return alternating(G, D, LeCamHinge(), DataSpec((2,))), G, D

    def batch():
        return torch.randn(8, 2), None

    schedule, G, D = fresh()
    for _ in range(3):
        schedule.step(batch)
    saved = checkpointed({"G": G.state_dict(), "D": D.state_dict(), "schedule": schedule.state_dict(),
                          "rng": torch.get_rng_state()})
    assert saved["schedule"]["loss"]["anchor_real"] is not None
    continued = [schedule.step(batch) for _ in range(2)]
    restored, G2, _ = fresh(saved)
    restored.load_state_dict(saved["schedule"])
    torch.set_rng_state(saved["rng"])
    resumed = [restored.step(batch) for _ in range(2)]
    assert same_state(resumed, continued) and same_state(G2.state_dict(), G.state_dict())
    assert same_state(restored.loss.state_dict(), schedule.loss.state_dict())


@pytest.mark.parametrize(("params", "message"), [({"weight": -1.0}, "weight must be non-negative"),
                                                 ({"decay": 1.0}, r"decay must be in \[0, 1\)")])
def test_bad_parameters_are_one_line_config_errors(params, message):
    """A negative weight or a decay outside [0, 1) is a ConfigError naming the loss."""
    with pytest.raises(ConfigError, match=f"loss 'lecam': {message}"):
        ganzoo_lecam.lecam(**params)


def test_experiment_builds_on_dcgan_mnist_with_limited_data(ganzoo_register):
    """lecam-dcgan-mnist is ganzoo's dcgan-mnist on 1,000 digits with this loss; dcgan-mnist's R1 settings, which
    the lecam loss does not take, are dropped."""
    engine = ganzoo_register(ganzoo_lecam)
    config, base = engine.resolve("lecam-dcgan-mnist"), engine.resolve("dcgan-mnist")
    assert config["loss"] == {"name": "lecam", "weight": 0.3, "decay": 0.99}
    assert config["dataset"]["limit"] == 1000 and config["network"] == base["network"]
    assert config["schedule"] == base["schedule"]
