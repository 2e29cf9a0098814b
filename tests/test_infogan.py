"""InfoGAN: latent codes drawn by the generator's own ``sample_latent``, a Q head that learns to recover them, the
``code-agreement`` metric with its exact best matching, and ``ganzoo sample --vary`` / ``grid(vary=...)``."""

from __future__ import annotations

import itertools
import random

import pytest
import torch
from PIL import Image
from torch.optim.swa_utils import AveragedModel

import ganzoo
from ganzoo.cli import main
from ganzoo.data import user_cache_dir
from ganzoo.jitter import random_affine
from ganzoo.metrics.assignment import best_assignment, matched_agreement
from ganzoo.metrics.base import EvalContext
from ganzoo.metrics.evaluator import get_evaluator
from ganzoo.metrics.features import MetricError
from ganzoo.samples import draw_latent, fixed_inputs, varied_latent
from ganzoo.spec import DataSpec
from ganzoo.testing import check_component
from ganzoo_plugins.infogan_nets import LatentCodes
from ganzoo_plugins.schedule import AdversarialSchedule

TINY = {"noise_dim": 4, "categorical": [3], "continuous": 1, "width": 8, "hidden": 32, "q_hidden": 16}


def grid_size(cols: int, rows: int, side: int = 28, pad: int = 2) -> tuple[int, int]:
    """Pixel size of a torchvision grid of cols x rows images."""
    return cols * (side + pad) + pad, rows * (side + pad) + pad


def test_infogan_meets_the_contracts(engine):
    """The conformance kit (sample_latent, codes, the Q head and its losses) passes; the metric is registered."""
    check_component(engine, "networks", "infogan")
    check_component(engine, "experiments", "infogan-mnist")
    assert "code-agreement" in engine.registry.names("metrics")


def test_latent_layout_draws_sets_and_reads_back_its_codes():
    """Noise, one-hot categories and U(-1, 1) continuous codes; with_code sets one code and keeps the rest."""
    layout = LatentCodes(5, [10, 3], 2)
    assert layout.codes == {"c1": 10, "c2": 3, "c3": 0, "c4": 0} and layout.dim == 5 + 13 + 2
    z = layout.sample(400, torch.Generator().manual_seed(0))
    one_hots = z[:, 5:15], z[:, 15:18]
    assert all(torch.equal(part.sum(1), torch.ones(400)) and set(part.unique().tolist()) == {0.0, 1.0}
               for part in one_hots)
    (c1, c2), continuous = layout.targets(z)
    assert set(c1.tolist()) == set(range(10)) and set(c2.tolist()) == {0, 1, 2}
    assert continuous.shape == (400, 2) and continuous.abs().max() <= 1 and continuous.std() > 0.4
    values = torch.arange(400) % 10
    coded = layout.with_code(z, "c1", values)
    assert torch.equal(layout.targets(coded)[0][0], values)
    assert torch.equal(coded[:, :5], z[:, :5]) and torch.equal(coded[:, 15:], z[:, 15:])
    swept = layout.with_code(z, "c4", torch.full((400,), 1.5))
    assert torch.equal(swept[:, -1], torch.full((400,), 1.5)) and torch.equal(swept[:, :-1], z[:, :-1])


def test_every_sampling_site_draws_the_generators_latent(engine):
    """draw_latent uses sample_latent, also through an EMA wrapper; the trainer's fixed grid varies c1 per row."""
    G, _ = engine.registry.get("networks", "infogan").obj(DataSpec((1, 28, 28), 10), **TINY)
    z = draw_latent(AveragedModel(G), 6, generator=torch.Generator().manual_seed(2))
    assert torch.equal(z, G.layout.sample(6, torch.Generator().manual_seed(2)))
    fixed, labels = fixed_inputs(DataSpec((1, 28, 28), 10), G, 8, 4, seed=0)
    assert labels is None and fixed.shape == (3 * 4, G.latent_dim)
    assert G.layout.targets(fixed)[0][0].tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert torch.equal(fixed[:4, :4], fixed[4:8, :4])  # the same noise in every row


def test_vary_grid_holds_the_rest_fixed(engine):
    """varied_latent: a row per category (or 9 continuous values from -2 to 2), the same latent down a column."""
    G, _ = engine.registry.get("networks", "infogan").obj(DataSpec((1, 28, 28)), **TINY)
    z = varied_latent(G, "c2", 5, generator=torch.Generator().manual_seed(0))
    assert z.shape == (9 * 5, G.latent_dim)
    grid = z.view(9, 5, -1)
    assert torch.equal(grid[:, :, -1][:, 0], torch.linspace(-2, 2, 9))
    assert torch.equal(grid[0, :, :-1].expand(9, 5, -1), grid[:, :, :-1])


def test_schedule_trains_q_and_g_on_the_information_term(engine):
    """Under a loss without gradients, a step still moves Q and G: the information term reaches both."""
    torch.manual_seed(0)
    spec = DataSpec((1, 8, 8))
    G, D = engine.registry.get("networks", "infogan").obj(spec, **TINY)

    class NoAdversary:
        def d_loss(self, real, fake):
            return 0 * (real.sum() + fake.sum())

        def g_loss(self, fake):
            return 0 * fake.sum()

    schedule = AdversarialSchedule(G, D, NoAdversary(), spec, n_critic=1, lr_g=1e-3, lr_d=1e-3, betas=(0.5, 0.999),
                                   ema_decay=0.0)
    q_before, g_before = [p.clone() for p in D.q.parameters()], [p.clone() for p in G.parameters()]
    logs = schedule.step(lambda: (torch.rand(8, 1, 8, 8) * 2 - 1, None))
    assert any(not torch.equal(a, b) for a, b in zip(q_before, D.q.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(g_before, G.parameters()))
    assert float(logs["d_aux"]) == pytest.approx(float(logs["g_aux"]), rel=0.5)


def test_q_learns_to_recover_the_categorical_code(engine):
    """Forty adversarial steps on tiny images: the information loss falls, and Q names most fresh samples' codes."""
    torch.manual_seed(0)
    spec = DataSpec((1, 8, 8))
    G, D = engine.registry.get("networks", "infogan").obj(spec, **TINY)
    loss = engine.registry.get("losses", "non-saturating").obj()
    schedule = AdversarialSchedule(G, D, loss, spec, n_critic=1, lr_g=1e-3, lr_d=1e-3, betas=(0.5, 0.999),
                                   ema_decay=0.0)
    data = torch.rand(256, *spec.shape, generator=torch.Generator().manual_seed(1)) * 2 - 1
    logs = [schedule.step(lambda: (data[torch.randint(0, 256, (32,))], None)) for _ in range(40)]
    first, last = (sum(float(log["d_aux"]) for log in part) / 10 for part in (logs[:10], logs[-10:]))
    assert last < 0.6 * first
    with torch.no_grad():  # batch statistics: forty steps are too few for BatchNorm's running averages
        z = draw_latent(G, 300, generator=torch.Generator().manual_seed(5))
        guessed = D(G(z), heads=True)["q"][:, :3].argmax(1)
    assert (guessed == G.layout.targets(z)[0][0]).double().mean() > 0.9


def test_q_rotation_reads_the_categorical_code_from_a_moved_copy(engine):
    """With q_rotation / q_shift, Q's categorical term is computed on a rotated, shifted copy of the generated
    batch (another value than on the batch itself), its continuous term on the batch as drawn; out of range is a
    one-line config error."""
    build = engine.registry.get("networks", "infogan").obj
    spec = DataSpec((1, 28, 28))
    torch.manual_seed(0)
    _, plain = build(spec, **TINY)
    _, turning = build(spec, **{**TINY, "q_rotation": 45.0, "q_shift": 3.0})
    turning.load_state_dict(plain.state_dict())
    x = torch.rand(16, *spec.shape) * 2 - 1
    z = plain.layout.sample(16, torch.Generator().manual_seed(1))
    out_plain, out_turning = plain(x, heads=True), turning(x, heads=True)
    assert "input" not in out_plain and out_turning["input"] is x
    assert torch.equal(out_plain["q"], out_turning["q"])
    (category,), continuous = plain.layout.targets(z)
    torch.manual_seed(3)
    moved_logits = turning.q(turning.trunk(random_affine(x, 45.0, 3.0)))[:, :3]
    expected = (torch.nn.functional.cross_entropy(moved_logits, category)
                + 0.1 * 0.5 * (out_plain["q"][:, 3:] - continuous).pow(2).sum(1).mean())
    torch.manual_seed(3)
    assert turning.information_loss(out_turning, z).item() == pytest.approx(expected.item(), rel=1e-5)
    unmoved = plain.information_loss(out_plain, z).item()
    assert turning.information_loss(out_turning, z).item() != pytest.approx(unmoved)
    for bad in ({"q_rotation": -5.0}, {"q_rotation": 200.0}, {"q_shift": 28.0}):
        with pytest.raises(ganzoo.errors.ConfigError, match="q_rotation must be 0-180 degrees"):
            build(spec, **{**TINY, **bad})


def brute_force_best(scores: list[list[float]]) -> float:
    """The largest total of a one-to-one matching, by trying every one."""
    rows, cols = len(scores), len(scores[0])
    if rows <= cols:
        return max(sum(scores[i][p[i]] for i in range(rows)) for p in itertools.permutations(range(cols), rows))
    return max(sum(scores[p[j]][j] for j in range(cols)) for p in itertools.permutations(range(rows), cols))


@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (5, 5), (6, 6), (3, 6), (6, 3), (2, 5)])
def test_best_assignment_matches_brute_force(shape):
    """On random integer matrices, square and rectangular, the matching is one-to-one and optimal."""
    rng = random.Random(sum(shape))
    for _ in range(20):
        scores = [[rng.randint(0, 20) for _ in range(shape[1])] for _ in range(shape[0])]
        assignment = best_assignment(scores)
        used = [c for c in assignment if c >= 0]
        assert len(used) == len(set(used)) == min(shape)
        assert sum(scores[r][c] for r, c in enumerate(assignment) if c >= 0) == brute_force_best(scores)


def test_agreement_finds_a_known_permutation():
    """Codes that name permuted classes, with 5% of samples disturbed: the permutation, and 95% agreement."""
    perm = [3, 7, 0, 9, 1, 4, 8, 2, 6, 5]
    codes = torch.arange(2000) % 10
    classes = torch.tensor([perm[c] for c in codes.tolist()])
    classes[::20] = (classes[::20] + 1) % 10
    agreement, mapping = matched_agreement(codes, classes, 10, 10)
    assert mapping == perm and agreement == pytest.approx(0.95)
    merged = torch.where(classes == 9, torch.tensor(4), classes)  # a merged pair: at most one can match
    assert matched_agreement(codes, merged, 10, 10)[0] < 0.9


class DigitRenderer(torch.nn.Module):
    """A 'generator' with one 10-way code that draws a real digit of class perm[code]: code agreement must find perm."""

    latent_dim = 12
    codes = {"c1": 10}

    def __init__(self, bank: torch.Tensor, perm: list[int]) -> None:
        super().__init__()
        self.register_buffer("bank", bank[perm])

    def sample_latent(self, n, generator=None, device=None):
        """Two noise dims and a one-hot code."""
        code = torch.randint(0, 10, (n,), generator=generator)
        return torch.cat([torch.randn(n, 2, generator=generator), torch.nn.functional.one_hot(code, 10).float()], 1)

    def with_code(self, z, name, values):
        """z with the code set."""
        z = z.clone()
        z[:, 2:] = torch.nn.functional.one_hot(values.long(), 10).float()
        return z

    def forward(self, z, labels=None):
        """The bank's digit for each code."""
        return self.bank[z[:, 2:].argmax(1)]


def test_code_agreement_metric_recovers_a_planted_matching(engine, mnist_root):
    """On a renderer of real digits under a permutation, agreement is 1 and the protocol holds the permutation;
    without a generator or without codes the metric says so in one line."""
    real = engine.load_data({"dataset": {"name": "mnist"}}, "test", mnist_root)
    evaluator = get_evaluator({"name": "mnist"}, mnist_root, "cpu", cache_dir=user_cache_dir(), engine=engine)
    right = evaluator.predict(real.x[:500]) == real.y[:500]
    bank = torch.stack([real.x[:500][(real.y[:500] == c) & right][0] for c in range(10)])
    perm = [3, 7, 0, 9, 1, 4, 8, 2, 6, 5]
    ctx = EvalContext(spec=DataSpec((1, 28, 28)), real=real, sample=None, n=200, seed=0, device=torch.device("cpu"),
                      dataset={"name": "mnist"}, cache_dir=user_cache_dir(), data_root=mnist_root,
                      generator=DigitRenderer(bank, perm))
    result = engine.metric("code-agreement").fn(ctx)
    assert result.values == {"agreement": 1.0}
    inverse = [perm.index(c) for c in range(10)]
    assert result.protocol["outcome"]["matching"] == [perm[k] for k in range(10)] and inverse[perm[0]] == 0
    with pytest.raises(MetricError, match="needs the generator itself"):
        engine.metric("code-agreement").fn(EvalContext(**{**ctx.__dict__, "generator": None}))
    plain, _ = engine.registry.get("networks", "dcgan").obj(DataSpec((1, 28, 28)), latent_dim=8, width=4)
    with pytest.raises(MetricError, match="declares none"):
        engine.metric("code-agreement").fn(EvalContext(**{**ctx.__dict__, "generator": plain}))


def test_infogan_run_scores_and_varies_its_codes(mnist_root, tmp_path, capsys):
    """A two-step run evaluates code agreement; sample --vary draws a row per code value; bad codes: one line."""
    run_dir = tmp_path / "run"
    sets = ["dataset.limit=128", "train.batch_size=16", "train.steps=2", "eval.metrics=[code-agreement]",
            "eval.n=50", "sample.nrow=4", *(f"network.{k}={v}" for k, v in TINY.items())]
    assert main(["run", "infogan-mnist", "--data-root", str(mnist_root), "--out", str(run_dir), "--no-progress",
                 *[a for s in sets for a in ("--set", s)]]) == 0
    assert Image.open(run_dir / "samples" / "final.png").size == grid_size(4, 3)
    capsys.readouterr()
    for code, rows in (("c1", 3), ("c2", 9)):
        assert main(["sample", str(run_dir), "--vary", code, "--n", "5"]) == 0
        written = capsys.readouterr().out.strip()
        assert written.endswith(f"vary-{code}-0.png") and Image.open(written).size == grid_size(5, rows)
    assert main(["sample", str(run_dir), "--vary", "c7"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "codes are c1, c2" in err
    generator = ganzoo.load(run_dir, "cpu")
    assert generator.codes == {"c1": 3, "c2": 0}
    assert tuple(generator.grid(vary="c1", nrow=4).shape) == (3, *grid_size(4, 3)[::-1])
