"""Experiments that build on others (``extends: NAME``): merge rule, chains, errors, origins, resume."""

from __future__ import annotations

import json
import signal

import pytest
import yaml
from conftest import run_cli

from ganzoo import api, hookimpl
from ganzoo.engine import Engine
from ganzoo.errors import ConfigError

#: gan-ring8 shrunk to train in about a second.
TINY = ["dataset.n=2000", "network.hidden=32", "network.d_hidden=32", "train.batch_size=32", "eval.n=200",
        "sample.n=200", "train.log_every=5", "train.checkpoint_every=5"]

CHAIN = """\
ragan-ring8:
  extends: gan-ring8
  loss: {name: rpgan}
hinge-ring8:
  description: the ring with the hinge loss
  extends: ragan-ring8
  loss: hinge
  train: {steps: 500}
back-ring8:
  extends: hinge-ring8
  loss: {name: non-saturating}
gan-ring8:
  extends: gan-ring8
  train: {batch_size: 32}
"""


@pytest.fixture()
def chain_file(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(CHAIN)
    return path


def test_a_child_keeps_its_parents_settings_and_changes_only_what_it_names(engine):
    """The hand-written ragan-ring8 that took batch 64, lr 2e-4 and latent 64 now takes gan-ring8's."""
    name, config = api.resolve_config({"experiment": "ragan-ring8", "extends": "gan-ring8", "loss": {"name": "rpgan"}},
                                      engine=engine)
    parent = engine.resolve("gan-ring8")
    assert name == "ragan-ring8" and "extends" not in config
    assert config["train"] == parent["train"] and config["network"] == parent["network"]
    assert config["schedule"]["lr_g"] == 0.001 and config["network"]["latent_dim"] == 2
    assert config["loss"] == {"name": "rpgan", "r1_gamma": 0.1, "r1_every": 4, "r2_gamma": 0.0}, \
        "the parent's r1_gamma and r1_every carry over to a loss that takes them"


def test_switching_to_a_component_without_the_parents_parameters_drops_them(engine):
    _, config = api.resolve_config({"extends": "gan-ring8", "loss": "hinge", "train": {"steps": 40}}, engine=engine)
    assert config["loss"] == {"name": "hinge"}
    assert config["train"]["steps"] == 40 and config["train"]["batch_size"] == 256, "sections merge key by key"


def test_a_chain_in_a_file_merges_from_its_root(engine, chain_file):
    hinge = api.explain_config(f"{chain_file}:hinge-ring8", engine=engine)
    assert hinge.parents == [f"{chain_file}:ragan-ring8", f"{chain_file}:gan-ring8", "gan-ring8"]
    assert hinge.config["loss"] == {"name": "hinge"} and hinge.config["train"]["steps"] == 500
    assert hinge.config["train"]["batch_size"] == 32, "the file's gan-ring8 comes before the registry's"
    assert hinge.config["description"] == "the ring with the hinge loss"
    back = api.explain_config(f"{chain_file}:back-ring8", engine=engine).config
    assert back["loss"]["r1_gamma"] == 0.0, "hinge dropped r1_gamma; switching back takes the default"
    shadow = api.explain_config(f"{chain_file}:gan-ring8", engine=engine)
    assert shadow.parents == ["gan-ring8"] and shadow.config["loss"]["r1_gamma"] == 0.1


def test_origins_name_the_experiment_its_parent_a_default_or_a_set(engine, chain_file):
    origins = api.explain_config(f"{chain_file}:ragan-ring8", ["train.seed=4"], engine=engine).origins
    assert origins["loss.name"] == "experiment"
    assert origins["loss.r1_gamma"] == "parent gan-ring8"
    assert origins["train.batch_size"] == f"parent {chain_file}:gan-ring8"
    assert origins["train.steps"] == "parent gan-ring8"
    assert origins["loss.r2_gamma"] == "default" and origins["network.dropout"] == "default"
    assert origins["train.seed"] == "--set"
    assert api.explain_config("gan-ring8", ["loss=hinge"], engine=engine).origins["loss.name"] == "--set"


def test_a_set_still_applies_after_the_merge(engine, chain_file):
    _, config = api.resolve_config(f"{chain_file}:ragan-ring8", ["loss.name=hinge", "train.steps=9"], engine=engine)
    assert config["loss"] == {"name": "hinge"} and config["train"]["steps"] == 9


@pytest.mark.parametrize("text, message", [
    ("a:\n  extends: b\nb:\n  extends: c\nc:\n  extends: a\n", r"in a cycle \(.*:a -> .*:b -> .*:c -> .*:a\)"),
    ("a:\n  extends: gan-rign8\n", r"'.*:a' extends unknown experiment 'gan-rign8'; did you mean gan-ring8\?"),
    ("a:\n  extends: [gan-ring8, gan-grid25]\n", "extends must name one experiment"),
])
def test_a_cycle_or_an_unknown_parent_is_a_config_error(engine, tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        api.resolve_config(f"{path}:a", engine=engine)


class SelfExtending:
    """A plugin whose experiment extends itself, and one that extends a built-in."""

    @hookimpl
    def ganzoo_experiments(self, register):
        register("loop", {"extends": "loop"}, "extends itself")
        register("ring-hinge", {"extends": "gan-ring8", "loss": "hinge"}, "gan-ring8 with the hinge loss")


def test_a_plugins_experiment_can_extend_a_registered_one():
    engine = Engine(extra_plugins=[SelfExtending()])
    assert engine.resolve("ring-hinge")["loss"] == {"name": "hinge"}
    assert engine.resolve("ring-hinge")["train"]["batch_size"] == 256
    with pytest.raises(ConfigError, match=r"cycle \(loop -> loop\)"):
        engine.resolve("loop")


def test_the_command_line_answers_a_bad_parent_in_one_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("a:\n  extends: nope\n")
    result = run_cli("run", f"{path}:a")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [f"ganzoo: error: '{path}:a' extends unknown experiment 'nope'; "
                                                  "see 'ganzoo list'"]


def test_show_takes_a_file_and_says_where_each_value_came_from(chain_file):
    shown = run_cli("show", f"{chain_file}:ragan-ring8", "--origin", "--set", "train.seed=2")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert any(line.split("#")[0].strip() == "r1_gamma: 0.1" and line.endswith("# parent gan-ring8") for line in lines)
    assert any(line.split("#")[0].strip() == "seed: 2" and line.endswith("# --set") for line in lines)
    as_json = json.loads(run_cli("show", f"{chain_file}:ragan-ring8", "--json", "--set", "train.seed=2").stdout)
    assert yaml.safe_load(shown.stdout) == as_json["config"], "the commented YAML is the config"
    assert as_json["extends"] == [f"{chain_file}:gan-ring8", "gan-ring8"]
    assert as_json["origins"]["loss.name"] == "experiment"


def test_a_run_of_an_extending_experiment_resumes_without_its_parent(tmp_path):
    """The run's config.yaml is complete, with no extends: resume compares and re-resolves it as it is."""
    entry = {"experiment": "ring-rp", "extends": "gan-ring8", "loss": {"name": "rpgan"}, "train": {"steps": 10}}
    common = {"overrides": TINY, "progress": False, "device": "cpu"}
    stopped = api.train(entry, out=tmp_path / "r", should_stop=lambda: signal.SIGTERM, **common)
    saved = yaml.safe_load((tmp_path / "r" / "config.yaml").read_text())
    assert stopped.step == 1 and "extends" not in saved and saved["loss"]["name"] == "rpgan"
    assert saved["schedule"]["lr_g"] == 0.001, "the parent's values are written out"
    resumed = api.resume(tmp_path / "r", progress=False, device="cpu")
    assert resumed.step == 10 and resumed.config["loss"] == saved["loss"]
