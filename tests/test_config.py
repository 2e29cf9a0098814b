"""Config resolution: registry entry <- component defaults <- --set overrides, validated."""

from __future__ import annotations

import pytest

from ganzoo.config import load_experiments_file, parse_override
from ganzoo.errors import ConfigError, UnknownNameError


def test_component_defaults_fill_what_the_entry_leaves_out(engine):
    config = engine.resolve("gan-ring8")
    assert config["network"]["dropout"] == 0.0  # from build_mlp's signature
    assert config["network"]["latent_dim"] == 2  # from registry.yaml
    assert config["loss"] == {"name": "non-saturating", "r1_gamma": 0.1, "r1_every": 4,
                              "r2_gamma": 0.0}  # registry.yaml sets r1_gamma and r1_every; r2_gamma is the default
    assert config["train"]["keep_last"] >= 1 and config["eval"]["metrics"] == ["modes"]


def test_overrides_are_parsed_as_yaml_and_applied(engine):
    config = engine.resolve("gan-ring8", ["train.steps=17", "schedule.betas=[0.0, 0.9]", "network.hidden=8",
                                          "schedule.lr_g=1", "schedule.lr_d=5e-4"])
    assert config["schedule"]["lr_d"] == 5e-4  # YAML 1.1 reads 5e-4 as a string
    assert config["train"]["steps"] == 17
    assert config["schedule"]["betas"] == [0.0, 0.9]
    assert config["network"]["hidden"] == 8
    assert config["schedule"]["lr_g"] == 1.0 and isinstance(config["schedule"]["lr_g"], float)


def test_switching_a_component_takes_the_new_components_defaults(engine):
    config = engine.resolve("gan-ring8", ["loss.name=wgan-gp", "schedule=n-critic"])
    assert config["loss"] == {"name": "wgan-gp", "gp_weight": 10.0}
    assert config["schedule"]["name"] == "n-critic" and config["schedule"]["n_critic"] == 5
    assert config["schedule"]["lr_g"] == 0.001, "the entry's parameters the new component takes carry over"


def test_a_parameter_set_for_the_new_component_is_still_checked(engine):
    """Switching drops the entry's r1_gamma silently, but a --set one the new loss lacks is an error."""
    assert engine.resolve("gan-ring8", ["loss.name=hinge"])["loss"] == {"name": "hinge"}
    with pytest.raises(ConfigError, match="loss.r1_gamma"):
        engine.resolve("gan-ring8", ["loss.name=hinge", "loss.r1_gamma=1"])


@pytest.mark.parametrize("override, message", [
    ("network.hiden=3", "did you mean network.hidden"),
    ("trian.steps=3", "unknown config key 'trian.steps'"),
    ("train.steps=ten", "train.steps: expected int, got str"),
    ("train.steps=1.5", "expected int"),
    ("train.steps=0", "must be positive"),
    ("logging.tensorboard=3", "expected bool"),
    ("network.hidden=true", "got a boolean"),
    ("train.steps", "use --set key.path=value"),
    ("train..steps=3", "use --set key.path=value"),
    ("train.steps=[1, 2", "not valid YAML"),
    ("eval.metrics=[nope]", "unknown metric 'nope'"),
    ("dataset.name=&a [*a, *a]", "the value contains itself"),  # found by tests/test_fuzz.py
    ("dataset.name=[1, 2]", "dataset.name must be a name"),
    ("network={name: 3}", "network.name must be a name"),
    ("dataset.when={2020-01-01: 1}", "unknown config key 'dataset.when'"),  # a date key once raised TypeError
])
def test_bad_overrides_name_the_problem(engine, override, message):
    with pytest.raises((ConfigError, UnknownNameError), match=message.replace("[", r"\[").replace(".", r"\.")):
        engine.resolve("gan-ring8", [override])


def test_unknown_key_error_lists_the_valid_keys(engine):
    with pytest.raises(ConfigError) as info:
        engine.resolve("gan-ring8", ["network.colour=red"])
    assert "network.latent_dim" in str(info.value) and "network.d_depth" in str(info.value)


def test_unknown_experiment_and_component_suggest_close_names(engine):
    with pytest.raises(UnknownNameError, match="did you mean gan-ring8"):
        engine.resolve("gan-rign8")
    with pytest.raises(UnknownNameError, match="did you mean hinge.*ganzoo list losses"):
        engine.resolve("gan-ring8", ["loss.name=hnge"])


def test_parse_override_keeps_strings_and_lists():
    assert parse_override("a.b=hello") == (["a", "b"], "hello")
    assert parse_override("a=[1, 2]") == (["a"], [1, 2])


def test_malformed_registry_file_names_file_and_line(tmp_path):
    path = tmp_path / "registry.yaml"
    path.write_text("gan-x:\n  dataset: {name: ring8\n  network: mlp\n")
    with pytest.raises(ConfigError, match=r"registry\.yaml:\d+: malformed YAML"):
        load_experiments_file(path)
    path.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_experiments_file(path)


def test_a_file_value_that_contains_itself_is_a_config_error(tmp_path):
    """An alias inside its own anchor in an experiment file (a parameter no type check stops, such as
    infogan's network.categorical, once recursed until RecursionError) is refused where the file is read."""
    path = tmp_path / "mine.yaml"
    path.write_text("mine:\n  extends: infogan-mnist\n  network: {categorical: &a [10, *a]}\n")
    with pytest.raises(ConfigError, match=r"mine\.yaml: a value contains itself"):
        load_experiments_file(path)


def test_on_and_off_reach_string_settings_as_words(engine):
    assert engine.resolve("gan-ring8", ["train.amp=off"])["train"]["amp"] == "off"
    assert engine.resolve("gan-ring8", ["train.channels_last=off"])["train"]["channels_last"] is False
    with pytest.raises(ConfigError, match="train.amp must be one of"):
        engine.resolve("gan-ring8", ["train.amp=on"])
