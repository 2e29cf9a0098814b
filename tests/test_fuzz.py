"""Fuzzing user input: every --set override, registry YAML file and YAML document either works or is
refused with exit 2 and one line on stderr; never a traceback, never a half-written run directory."""

from __future__ import annotations

import itertools
from pathlib import Path

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from reliability import TINY, cli, one_thread, state  # noqa: F401 - one_thread is an autouse fixture

from ganzoo.config import SECTIONS, load_experiments_file, load_yaml_file
from ganzoo.errors import ConfigError

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
COUNTER = itertools.count()

KEYS = sorted({f"{s}.{k}" for s, ks in SECTIONS.items() for k in ks}
              | {"network.hidden", "network.depth", "network.latent_dim", "network.d_hidden", "network.name",
                 "dataset.n", "dataset.std", "dataset.name", "loss", "loss.name", "schedule.lr_g", "schedule.betas",
                 "schedule.ema_decay", "schedule.name", "description", "network", "train", "nope", "train.nope"})
JUNK = ["{", "[1,", "!!python/object/apply:os.system ['true']", "2001-02-30", "&a [*a, *a]", "!!binary aGk=",
        "!!set {a, b}", "2001-12-14", "'unterminated", "{a: 1}", ".nan", ".inf", "-.inf", "~", "1e400", "0x1f",
        "[[[[[[[[]]]]]]]]", "\u00e9", "hinge", "wgan-gp", "n-critic", "grid25", "modes", "[modes]",
        "modes.high_quality", "modes.reverse_kl"]
SMALL_INT = st.integers(min_value=-3, max_value=40)
SCALAR = st.one_of(SMALL_INT, st.floats(allow_nan=True, allow_infinity=True, width=32), st.booleans(), st.none(),
                   st.text(max_size=8), st.sampled_from(JUNK))
VALUE_TEXT = st.one_of(SCALAR.map(lambda v: v if isinstance(v, str) else yaml.safe_dump(v).strip().removesuffix("...").strip()),
                       st.lists(SMALL_INT, max_size=3).map(str))


def as_yaml(value: object) -> str:
    """A value as --set writes it (YAML flow style, one line)."""
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


#: Values that a key plausibly takes: most examples should train, some should be refused.
PLAUSIBLE = {
    "train.steps": st.integers(1, 6), "train.batch_size": st.integers(1, 64), "train.seed": st.integers(0, 2**40),
    "train.log_every": st.integers(1, 4), "train.checkpoint_every": st.integers(1, 4), "train.keep_last": st.integers(1, 3),
    "train.sample_every": st.integers(1, 4), "network.hidden": st.integers(1, 16), "network.depth": st.integers(0, 3),
    "network.latent_dim": st.integers(1, 8), "loss": st.sampled_from(["hinge", "least-squares", "minimax", "wgan-gp"]),
    "schedule.lr_g": st.floats(1e-5, 1.0), "schedule.ema_decay": st.floats(0, 0.999),
    "schedule.name": st.sampled_from(["alternating", "n-critic"]), "eval.metrics": st.sampled_from([[], ["modes"]]),
    "eval.primary": st.sampled_from([None, "modes.high_quality", "modes.reverse_kl", "modes"]),
    "guard.rollbacks": st.integers(0, 2), "guard.lr_factor": st.floats(0.01, 0.99), "sample.n": st.integers(1, 20),
    "sample.nrow": st.integers(1, 10), "dataset.name": st.sampled_from(["ring8", "grid25"]), "dataset.std": st.floats(0, 1),
}
SETTING = st.one_of(*(st.tuples(st.just(k), v.map(as_yaml)) for k, v in PLAUSIBLE.items()),
                    st.tuples(st.sampled_from(KEYS) | st.text(max_size=12), VALUE_TEXT))


def fresh(tmp_path: Path) -> Path:
    """A run directory path that does not exist yet."""
    return tmp_path / f"run{next(COUNTER)}"


def check_outcome(code: int, stderr: str, out: Path) -> None:
    """Exit 0 with a complete run directory, or exit 2 with one line and no run directory."""
    event(f"exit {code}")
    if code == 2:
        errors = [line for line in stderr.splitlines() if line.startswith("ganzoo: error: ")]
        assert len(errors) == 1 and stderr.strip().splitlines()[-1] == errors[0] and "Traceback" not in stderr, stderr
        assert not out.exists(), f"half-written run directory after: {errors[0]}"
    else:
        assert code == 0, stderr
        config = yaml.safe_load((out / "config.yaml").read_text())
        assert state(out / "checkpoints" / "last.pt")["step"] == config["train"]["steps"]


@FUZZ
@given(overrides=st.lists(SETTING, max_size=4))
def test_set_overrides_work_or_exit_2_with_one_line(tmp_path, overrides):
    out = fresh(tmp_path)
    argv = ["run", "gan-ring8", *TINY, "--steps", "3", "--set", "eval.n=100"]
    for key, value in overrides:
        argv += ["--set", f"{key}={value}"]
    code, _, stderr = cli([*argv, "--out", str(out)])
    check_outcome(code, stderr, out)


def entry_file(name: str, settings_: list[tuple[str, str]]) -> str:
    """A registry file with one small valid experiment, then each (key.path, YAML value) set into it."""
    entry: dict = {"dataset": {"name": "ring8", "n": 500}, "network": {"name": "mlp", "hidden": 16, "d_hidden": 16}}
    for key, text in settings_:
        try:
            value = yaml.safe_load(text)
        except (yaml.YAMLError, ValueError, RecursionError):
            value = text
        node = entry
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {}) if isinstance(node.get(part, {}), dict) else {}
        node[leaf] = value
    return yaml.safe_dump({name: entry})


FILES = st.one_of(
    st.builds(entry_file, st.sampled_from(["tiny", "Bad Name", "../x"]), st.lists(SETTING, max_size=3)),
    st.builds(entry_file, st.just("tiny"), st.lists(SETTING, max_size=3)),
    st.text(max_size=60),
    st.sampled_from(JUNK),
)


@FUZZ
@given(text=FILES, pick=st.sampled_from(["", ":tiny", ":missing"]))
def test_registry_files_work_or_exit_2_with_one_line(tmp_path, text, pick):
    path = tmp_path / f"exp{next(COUNTER)}.yaml"
    path.write_text(text, encoding="utf-8")
    out = fresh(tmp_path)
    code, _, stderr = cli(["run", f"{path}{pick}", "--no-progress", "--steps", "3", "--set", "train.batch_size=16",
                           "--set", "eval.n=100", "--set", "sample.n=16", "--out", str(out)])
    check_outcome(code, stderr, out)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=80) | st.text(max_size=80).map(str.encode) | st.sampled_from(JUNK).map(str.encode))
def test_yaml_loader_returns_data_or_a_config_error(tmp_path, data):
    path = tmp_path / "suite.yaml"
    path.write_bytes(data)
    for load in (load_yaml_file, load_experiments_file):
        try:
            load(path)
        except ConfigError as exc:
            assert str(exc) and "\n" not in str(exc)


def test_deeply_nested_yaml_is_a_config_error(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("[" * 5000 + "]" * 5000)
    try:
        load_yaml_file(path)
    except ConfigError as exc:
        assert "malformed" in str(exc)
