"""ganzoo bench: the smoke suite end to end, kill and re-run, failures and wall-clock budgets, compare, bad input.

Every suite here trains gan-ring8/gan-grid25 shrunk to a few dozen steps of a 32-unit MLP.
"""

from __future__ import annotations

import json
import shutil
import signal
import time
from pathlib import Path

import pytest
from reliability import ROOT, cli, one_thread, spawn  # noqa: F401 - one_thread is an autouse fixture

from ganzoo.bench.compare import compare
from ganzoo.bench.live import SuiteView
from ganzoo.bench.plots import write_plots
from ganzoo.bench.results import groups, read_results

SMOKE = ROOT / "benchmarks" / "smoke.yaml"
TINY = ["--no-progress", "--set", "dataset.n=2000", "--set", "network.hidden=32", "--set", "network.d_hidden=32",
        "--set", "train.batch_size=32", "--set", "train.log_every=10", "--set", "train.checkpoint_every=10"]
PNG = b"\x89PNG\r\n\x1a\n"


def write_suite(path: Path, body: str) -> Path:
    """A suite file with the given YAML text."""
    path.write_text(body, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """benchmarks/smoke.yaml with two seeds and 10 steps per run, in-process."""
    out = tmp_path_factory.mktemp("smoke") / "out"
    code, stdout, stderr = cli(["bench", str(SMOKE), "--seeds", "2", "--steps", "10", "--device", "cpu",
                                "--out", str(out), *TINY])
    assert code == 0, stderr
    return out


def test_smoke_suite_writes_a_record_per_variant_and_seed_with_protocols(smoke):
    data = read_results(smoke / "results.json")
    variants = list(data["suite"]["variants"])
    assert variants == ["ring8-ns", "ring8-hinge", "grid25-ns"]
    runs = {(r["variant"], r["seed"]): r for r in data["runs"]}
    assert set(runs) == {(v, s) for v in variants for s in (0, 1)} and len(data["runs"]) == 6
    hashes = {}
    for (variant, seed), record in runs.items():
        assert record["status"] == "ok" and record["error"] is None
        assert record["steps"] == 10 and record["budget_stop"] == "steps"
        assert record["experiment"] == ("gan-grid25" if variant.startswith("grid25") else "gan-ring8")
        assert "network.hidden=32" in record["overrides"]
        assert record["versions"]["torch"] and record["device"] == "cpu"
        assert record["train_time_s"] > 0 and record["images_per_s"] > 0
        protocol = record["metrics"]["modes"]["protocol"]
        assert protocol["name"] == "pacgan-modes" and protocol["fake_samples"] == 2500 and protocol["seed"] == 0
        assert protocol["step"] == 10
        assert 0 <= record["metrics"]["modes"]["values"]["modes"] <= record["metrics"]["modes"]["values"]["num_modes"]
        assert record["curve"][-1]["step"] == 10
        assert (smoke / record["samples"]).read_bytes().startswith(PNG)
        config = (smoke / "runs" / f"{variant}-s{seed}" / "config.yaml").read_text()
        assert f"seed: {seed}" in config
        hashes.setdefault(variant, set()).add(record["config_hash"])
    assert all(len(h) == 1 for h in hashes.values()), "seeds of one variant must share a config hash"
    assert len({h.pop() for h in hashes.values()}) == 3, "different variants must have different config hashes"


def test_smoke_report_and_plots_name_every_variant(smoke):
    report = (smoke / "report.md").read_text()
    for variant in ("ring8-ns", "ring8-hinge", "grid25-ns"):
        assert report.count(f"| {variant} |") >= 2  # its metric table and the runs table
    assert "## modes on ring8" in report and "## modes on grid25" in report
    assert "Protocol: name pacgan-modes" in report and "fake samples 2500" in report
    assert "higher is better" in report and "lower is better" in report
    assert " ± " in report  # two seeds: mean ± std
    for png in ("curves.png", "final_metrics.png", "samples.png"):
        assert (smoke / png).read_bytes().startswith(PNG)
        assert f"]({png})" in report


def test_no_curve_plot_when_seeds_share_no_evaluation_step(smoke, tmp_path):
    """Runs a time budget stopped at different steps, evaluated only at the end: no figure of empty axes."""
    data = read_results(smoke / "results.json")
    for record in data["runs"]:
        record["curve"] = [{**point, "step": point["step"] + record["seed"]} for point in record["curve"]]
    written = [p.name for p in write_plots(data, tmp_path)]
    assert "final_metrics.png" in written and "curves.png" not in written
    assert not (tmp_path / "curves.png").exists()


def test_a_variant_keeps_one_colour_in_every_curve_panel_and_the_legend_names_all(smoke):
    """Panels with different variant sets (ring8 and grid25 modes): the figure's one legend lists every variant,
    and each variant's line has the same colour wherever it is drawn."""
    from ganzoo.bench.plots import curves_figure

    data = read_results(smoke / "results.json")
    fig = curves_figure(data)
    colours: dict[str, set] = {}
    for ax in fig.axes:
        for line in ax.get_lines():
            colours.setdefault(line.get_label(), set()).add(line.get_color())
    assert set(colours) == {"ring8-ns", "ring8-hinge", "grid25-ns"}
    assert all(len(c) == 1 for c in colours.values()), colours
    assert len({c.pop() for c in colours.values()}) == 3
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["ring8-ns", "ring8-hinge", "grid25-ns"]


def test_report_marks_the_best_variant_by_goal(smoke, tmp_path):
    data = read_results(smoke / "results.json")
    for record in data["runs"]:
        values = record["metrics"]["modes"]["values"]
        values["reverse_kl"] = 0.01 if record["variant"] == "ring8-hinge" else 5.0
        values["high_quality"] = 0.9 if record["variant"] == "ring8-ns" else 0.1 + 0.01 * record["seed"]
    from ganzoo.bench.report import render

    table = render(data, []).split("## modes on ring8")[1].split("## ")[0]
    rows = {line.split("|")[1].strip(): line for line in table.splitlines() if line.startswith("| ring8")}
    assert "**0.01 ± 0** (best)" in rows["ring8-hinge"] and "(best)" not in rows["ring8-ns"].split("|")[5]
    assert "**0.9 ± 0** (best)" in rows["ring8-ns"]


def test_live_view_counts_done_running_and_queued(smoke):
    from rich.console import Console

    console = Console(record=True, width=120)
    view = SuiteView("suite", ["a-s0", "b-s0", "c-s0"], console, live=False)
    view.finished("a-s0", "ok", "modes=8")
    view.running("b-s0", 5, 20)
    view.progress("b-s0", 12)
    console.print(view.table())
    text = console.export_text()
    assert "1 ok, 1 running, 1 queued" in text and "12/20" in text and "queued" in text


def test_killed_suite_resumes_without_redoing_finished_runs(tmp_path):
    suite = write_suite(tmp_path / "two.yaml", """
name: two
seeds: 2
budget: {steps: 100}
metrics: [modes]
eval: {n: 500}
variants:
  ring8: {experiment: gan-ring8}
""")
    out = tmp_path / "out"
    proc = spawn(["bench", str(suite), "--out", str(out), *TINY])
    second = out / "runs" / "ring8-s1" / "checkpoints"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        results = out / "results.json"
        if second.is_dir() and any(second.glob("step_*.pt")) and results.is_file():
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the suite ended before it could be killed mid-run"
    before = read_results(out / "results.json")
    assert [r["run"] for r in before["runs"]] == ["ring8-s0"]
    first_ckpt = out / "runs" / "ring8-s0" / "checkpoints" / "last.pt"
    first_mtime = first_ckpt.stat().st_mtime_ns

    code, stdout, stderr = cli(["bench", str(suite), "--out", str(out), *TINY])
    assert code == 0, stderr
    after = read_results(out / "results.json")
    assert [r["run"] for r in after["runs"]] == ["ring8-s0", "ring8-s1"]
    assert after["runs"][0] == before["runs"][0], "a finished run was redone"
    assert first_ckpt.stat().st_mtime_ns == first_mtime
    assert "(earlier)" in stderr
    resumed = after["runs"][1]
    assert resumed["status"] == "ok" and resumed["steps"] == 100 and resumed["resumes"] == 1
    events = [json.loads(line) for line in (out / "runs" / "ring8-s1" / "metrics.jsonl").read_text().splitlines()]
    starts = [e["step"] for e in events if e.get("event") == "resume"]
    assert len(starts) == 1 and 0 < starts[0] < 100
    assert [e["step"] for e in events if e.get("event") == "train"] == list(range(10, 101, 10))


def test_a_failing_run_is_recorded_and_the_suite_goes_on_within_a_wall_clock_budget(tmp_path):
    suite = write_suite(tmp_path / "mixed.yaml", """
name: mixed
seeds: [3]
budget: {steps: 1000000, seconds: 1}
metrics: [modes]
eval: {n: 500, every: 20}
variants:
  exploding: {experiment: gan-ring8, set: [schedule.lr_d=1.0e+30, schedule.lr_g=1.0e+30]}
  timed: {experiment: gan-ring8}
""")
    out = tmp_path / "out"
    code, stdout, stderr = cli(["bench", str(suite), "--out", str(out), *TINY])
    assert code == 1 and "1 run(s) failed: exploding-s3" in stderr
    runs = {r["variant"]: r for r in read_results(out / "results.json")["runs"]}
    assert runs["exploding"]["status"] == "failed" and "diverged" in runs["exploding"]["error"]
    timed = runs["timed"]
    assert timed["status"] == "ok" and timed["budget_stop"] == "seconds" and 0 < timed["steps"] < 1000000
    assert timed["seed"] == 3 and timed["metrics"]["modes"]["protocol"]["step"] == timed["steps"]
    report = (out / "report.md").read_text()
    assert "exploding-s3 failed:" in report and "| timed | 1 | 0 |" in report


def results_file(path: Path, values: dict[str, list[float]], sha: str = "abc") -> Path:
    """A results.json with one fd value per seed for each variant."""
    runs = [{"run": f"{v}-s{i}", "variant": v, "seed": i, "status": "ok",
             "metrics": {"fd": {"values": {"fd": x}, "protocol": {"name": "frechet-distance", "evaluator_sha256": sha,
                                                                  "fake_samples": 2000, "run": f"/x/{v}-s{i}"}}}}
            for v, xs in values.items() for i, x in enumerate(xs)]
    suite = {"name": "s", "file": "s.yaml", "fingerprint": "f", "variants": {v: {} for v in values},
             "goals": {"fd": {"fd": "min"}}}
    path.write_text(json.dumps({"format": 1, "suite": suite, "runs": runs}))
    return path


def test_compare_flags_a_planted_difference_and_not_noise(tmp_path):
    base = results_file(tmp_path / "a.json", {"dcgan": [10.0, 12.0, 8.0], "gan": [30.0, 31.0, 29.0]})
    noisy = results_file(tmp_path / "b.json", {"dcgan": [11.0, 9.0, 10.5], "gan": [20.0, 21.0, 19.5]})
    rows = {r.variant: r for r in compare(read_results(base), read_results(noisy))}
    assert rows["dcgan"].exceeds is False and rows["dcgan"].verdict == "within seed spread"
    assert rows["gan"].exceeds is True and rows["gan"].verdict == "better"  # fd fell by 10, spread about 2
    assert rows["gan"].difference == pytest.approx(20.1666667 - 30.0)
    code, stdout, _ = cli(["bench", "compare", str(base), str(noisy)])
    assert code == 0
    lines = {line.split("│")[1].strip(): line for line in stdout.splitlines() if line.count("│") > 3}
    assert "yes" in lines["gan"] and "better" in lines["gan"]
    assert "no" in lines["dcgan"].split("│")[7] and "within" in lines["dcgan"]


def test_what_each_run_found_does_not_split_the_protocol(tmp_path):
    """Code agreement's matching is an outcome of each run: seeds that found different matchings still form one
    group under one protocol, while a different evaluator still splits it."""
    data = read_results(results_file(tmp_path / "a.json", {"infogan": [0.8, 0.9], "other": [0.7]}))
    for i, record in enumerate(data["runs"]):
        record["metrics"]["fd"]["protocol"]["outcome"] = {"matching": [i, 1 - i]}
    (group,) = groups(data)
    assert group.variants == ["infogan", "other"] and len(group.protocols) == 1
    assert "outcome" not in group.protocols[0]
    data["runs"][2]["metrics"]["fd"]["protocol"]["evaluator_sha256"] = "another evaluator"
    assert sorted(len(g.variants) for g in groups(data)) == [1, 1]


def test_compare_refuses_to_judge_across_protocols(tmp_path):
    base = results_file(tmp_path / "a.json", {"dcgan": [10.0, 12.0, 8.0]})
    other = results_file(tmp_path / "b.json", {"dcgan": [50.0, 52.0, 48.0]}, sha="another evaluator")
    (row,) = compare(read_results(base), read_results(other))
    assert row.exceeds is None and row.verdict == "protocol differs"


BAD = {
    "unknown experiment": ("variants:\n  a: {experiment: gan-ring9}\nmetrics: [modes]\nbudget: {steps: 5}\n",
                           ":2: variant 'a': ", "gan-ring8"),
    "unknown metric": ("budget: {steps: 5}\nmetrics: [modez]\nvariants:\n  a: {experiment: gan-ring8}\n",
                       ":2: ", "modes"),
    "metric that does not apply": ("budget: {steps: 5}\nmetrics: [fd]\nvariants:\n  a: {experiment: gan-ring8}\n",
                                   ":4: variant 'a': ", "image data"),
    "missing plugin": ("requires: ['ganzoo-no-such-plugin>=1.0']\nbudget: {steps: 5}\nmetrics: [modes]\n"
                       "variants:\n  a: {experiment: gan-ring8}\n", ":1: ", "not installed"),
    "plugin too old": ("requires: ['ganzoo>=99']\nbudget: {steps: 5}\nmetrics: [modes]\n"
                       "variants:\n  a: {experiment: gan-ring8}\n", ":1: ", "is installed"),
    "malformed yaml": ("budget: {steps: 5}\nmetrics: [modes]\nvariants:\n  a: {experiment: gan-ring8\n  b: [\n",
                       ":", "malformed YAML"),
    "pinned setting": ("budget: {steps: 5}\nmetrics: [modes]\nvariants:\n  a:\n    experiment: gan-ring8\n"
                       "    set: [train.steps=9]\n", ":4: ", "pinned by the suite"),
    "no budget": ("metrics: [modes]\nvariants:\n  a: {experiment: gan-ring8}\n", "", "needs a budget per run"),
    "unknown key": ("budget: {steps: 5}\nmetrics: [modes]\nseed: 3\nvariants:\n  a: {experiment: gan-ring8}\n",
                    ":3: ", "unknown suite key 'seed'"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_suites_are_one_line_before_any_training(case, tmp_path):
    body, where, message = BAD[case]
    suite = write_suite(tmp_path / "bad.yaml", body)
    out = tmp_path / "out"
    code, stdout, stderr = cli(["bench", str(suite), "--out", str(out), "--no-progress"])
    assert code == 2
    assert stderr.count("\n") == 1 and stderr.startswith(f"ganzoo: error: {suite}{where}"), stderr
    assert message in stderr
    assert not out.exists()


def test_output_dir_with_another_suites_results_is_refused(smoke, tmp_path):
    suite = write_suite(tmp_path / "other.yaml", "name: other\nbudget: {steps: 5}\nmetrics: [modes]\n"
                                                 "variants:\n  a: {experiment: gan-ring8}\n")
    before = (smoke / "results.json").read_bytes()
    code, _, stderr = cli(["bench", str(suite), "--out", str(smoke), "--no-progress"])
    assert code == 2 and stderr.count("\n") == 1
    assert "holds results of another suite ('smoke'" in stderr
    changed = cli(["bench", str(SMOKE), "--seeds", "2", "--steps", "21", "--out", str(smoke), *TINY])
    assert changed[0] == 2 and "configured differently" in changed[2]
    assert (smoke / "results.json").read_bytes() == before
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "notes.txt").write_text("mine")
    code, _, stderr = cli(["bench", str(suite), "--out", str(stray), "--no-progress"])
    assert code == 2 and "already holds other files" in stderr


def test_rerunning_a_finished_suite_trains_nothing(smoke):
    before = read_results(smoke / "results.json")["runs"]
    code, _, stderr = cli(["bench", str(SMOKE), "--seeds", "2", "--steps", "10", "--out", str(smoke), *TINY])
    assert code == 0 and stderr.count("(earlier)") == 6 and "training gan-" not in stderr
    assert read_results(smoke / "results.json")["runs"] == before


def _recorded_before_top_k_decay(smoke: Path, copy: Path, edit=None) -> Path:
    """A copy of the smoke results as if its runs (which all leave ``schedule.top_k_decay`` at its default) were
    recorded before the option existed; ``edit`` changes more of their recorded configs."""
    shutil.copytree(smoke, copy)
    data = json.loads((copy / "results.json").read_text())
    data["suite"]["fingerprint"] = "0" * 16
    for variant in data["suite"]["variants"].values():
        del variant["config"]["schedule"]["top_k_decay"]
        variant["config_hash"] = "0" * 16
        if edit:
            edit(variant["config"])
    (copy / "results.json").write_text(json.dumps(data))
    return copy


def test_results_from_before_an_option_existed_continue_while_it_is_at_its_default(smoke, tmp_path):
    old = _recorded_before_top_k_decay(smoke, tmp_path / "old")
    code, _, stderr = cli(["bench", str(SMOKE), "--seeds", "2", "--steps", "10", "--out", str(old), *TINY])
    assert code == 0 and stderr.count("(earlier)") == 6 and "training gan-" not in stderr, stderr
    assert read_results(old / "results.json")["suite"]["fingerprint"] == read_results(smoke / "results.json")["suite"][
        "fingerprint"]
    turned_on = _recorded_before_top_k_decay(smoke, tmp_path / "on")
    code, _, stderr = cli(["bench", str(SMOKE), "--seeds", "2", "--steps", "10", "--out", str(turned_on), *TINY,
                           "--set", "schedule.top_k_decay=0.99"])
    assert code == 2 and "configured differently" in stderr
    changed = _recorded_before_top_k_decay(smoke, tmp_path / "lr",
                                           lambda config: config["schedule"].update(lr_g=0.5))
    code, _, stderr = cli(["bench", str(SMOKE), "--seeds", "2", "--steps", "10", "--out", str(changed), *TINY])
    assert code == 2 and "configured differently" in stderr


@pytest.mark.parametrize("argv, message", [
    (["compare", "only-one.json"], "usage: ganzoo bench compare"),
    (["compare", "a.json", "b.json"], "no results file at a.json"),
])
def test_bad_compare_arguments_are_one_line(argv, message):
    code, _, stderr = cli(["bench", *argv])
    assert code == 2 and stderr.count("\n") == 1 and message in stderr


@pytest.mark.parametrize("path", sorted((ROOT / "benchmarks").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_suites_resolve(path, engine):
    from ganzoo.bench.suite import load_suite

    suite = load_suite(engine, path)
    assert suite.variants and (suite.steps or suite.seconds) and suite.eval["n"] >= 500
    assert all(v.config["eval"]["n"] == suite.eval["n"] for v in suite.variants)
    if suite.steps:  # a step budget pins every variant's steps; a wall-clock budget alone lets each run its own
        assert all(v.config["train"]["steps"] == suite.steps for v in suite.variants)
    assert all(not o.startswith(("train.steps", "train.seed", "eval.")) for v in suite.variants for o in v.overrides)


def test_mixtures_dry_run_plans_every_run_and_trains_nothing(tmp_path):
    out = tmp_path / "out"
    code, stdout, stderr = cli(["bench", str(ROOT / "benchmarks" / "mixtures.yaml"), "--seeds", "3", "--out", str(out),
                                "--dry-run"])
    assert code == 0, stderr
    plans = [line for line in stdout.splitlines() if line.endswith(": start")]
    assert len(plans) == 30 and "ring8-wgan-gp-s2: start" in plans and "grid25-pac2-s0: start" in plans
    assert not out.exists()
