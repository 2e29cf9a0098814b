"""Fuzzing user input: every --set override, registry YAML file and YAML document either works or is
refused with exit 2 and one line on stderr; never a traceback, never a half-written run directory."""

from __future__ import annotations

import itertools
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
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


def fresh(tmp_path: Path) -> Path:
    """A run directory path that does not exist yet."""
    return tmp_path / f"run{next(COUNTER)}"


def check_outcome(code: int, stderr: str, out: Path) -> None:
    """Exit 0 with a complete run directory, or exit 2 with one line and no run directory."""
    if code == 2:
        errors = [line for line in stderr.splitlines() if line.startswith("ganzoo: error: ")]
        assert len(errors) == 1 and stderr.strip().splitlines()[-1] == errors[0] and "Traceback" not in stderr, stderr
        assert not out.exists(), f"half-written run directory after: {errors[0]}"
    else:
        assert code == 0, stderr
        config = yaml.safe_load((out / "config.yaml").read_text())
        assert state(out / "checkpoints" / "last.pt")["step"] == config["train"]["steps"]


@FUZZ
@given(overrides=st.lists(st.tuples(st.sampled_from(KEYS) | st.text(max_size=12), VALUE_TEXT), max_size=4))
def test_set_overrides_work_or_exit_2_with_one_line(tmp_path, overrides):
    out = fresh(tmp_path)
    argv = ["run", "gan-ring8", *TINY, "--steps", "3", "--set", "eval.n=100"]
    for key, value in overrides:
        argv += ["--set", f"{key}={value}"]
    code, _, stderr = cli([*argv, "--out", str(out)])
    check_outcome(code, stderr, out)


BLOCK = st.dictionaries(st.sampled_from(["name", "n", "hidden", "depth", "steps", "batch_size", "lr_g", "metrics",
                                         "primary", "x"]) | st.text(max_size=5),
                        st.one_of(SCALAR, st.lists(SCALAR, max_size=2)), max_size=3)
ENTRY = st.fixed_dictionaries(
    {},
    optional={
        "description": SCALAR,
        "dataset": st.sampled_from(["ring8", "grid25", "mnist9", {"name": "ring8", "n": 500}]) | BLOCK,
        "network": st.sampled_from(["mlp", {"name": "mlp", "hidden": 16, "d_hidden": 16}, "nope"]) | BLOCK,
        "loss": st.sampled_from(["hinge", "least-squares", "minimax", 3]) | BLOCK,
        "schedule": st.sampled_from(["alternating", {"name": "n-critic", "n_critic": 2}]) | BLOCK,
        "train": BLOCK, "eval": BLOCK, "sample": BLOCK, "guard": BLOCK, "extra": SCALAR,
    },
)
FILES = st.one_of(
    st.dictionaries(st.sampled_from(["tiny", "b", "Bad Name", "../x", "ok-2"]), ENTRY | SCALAR, max_size=2)
    .map(lambda d: yaml.safe_dump(d)),
    st.text(max_size=60),
    st.sampled_from(JUNK),
)


@FUZZ
@given(text=FILES, pick=st.sampled_from(["", ":tiny", ":b", ":missing"]))
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
