import argparse
import json

import pytest

from training.fitting.config import (
    CONFIG_FILE,
    DEFAULT_CONDITIONS,
    TrainConfig,
    add_config_arguments,
    config_from_args,
)


def test_defaults_are_valid_and_name_the_default_sliders():
    config = TrainConfig()
    assert config.conditions == DEFAULT_CONDITIONS
    assert config.loss == "hinge"


def test_saved_beside_weights_and_loaded_back(tmp_path):
    config = TrainConfig(
        data="d.npz", out=str(tmp_path), steps=7, conditions=("density",), beat_types=("beat",)
    )
    path = config.save(tmp_path)
    assert path == tmp_path / CONFIG_FILE
    assert json.loads(path.read_text())["steps"] == 7
    again = TrainConfig.load(tmp_path)
    assert again == config
    assert again.conditions == ("density",)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("loss", "mse", "must be one of"),
        ("batch_size", 1, "batch_size' must be in 2"),
        ("lr_g", 0.0, "lr_g"),
        ("steps", 1.5, "must be an int"),
        ("device", "tpu", "device"),
        ("hit_estimator", "gumbel", "hit_estimator"),
        ("conditions", (), "at least one"),
        ("conditions", ("density", "density"), "duplicates"),
    ],
)
def test_bad_values_are_refused_naming_the_field(field, value, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{field: value})


def test_unknown_fields_are_refused():
    with pytest.raises(ValueError, match="unknown training config fields \\['exec'\\]"):
        TrainConfig.from_dict({"exec": "print(1)"})


def test_every_field_is_a_command_line_option():
    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    args = parser.parse_args(
        ["--batch-size", "32", "--conditions", "density, syncopation", "--no-styles", "--loss", "wgan-gp"]
    )
    config = config_from_args(args, TrainConfig(steps=99))
    assert config.batch_size == 32
    assert config.conditions == ("density", "syncopation")
    assert config.styles is False
    assert config.loss == "wgan-gp"
    assert config.steps == 99  # not given: the base's value stays


def test_a_bad_option_value_is_refused_by_the_parser():
    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--loss", "mse"])


def test_pack_and_diversity_rules():
    assert TrainConfig().pack == 4 and TrainConfig().diversity_weight > 0  # the recipe: groups and the floor
    assert TrainConfig(pack=1, diversity_weight=0.0).pack == 1
    with pytest.raises(ValueError, match="multiple of 'pack'"):
        TrainConfig(batch_size=10, pack=4)
    with pytest.raises(ValueError, match="pack_neighbours"):
        TrainConfig(pack=8, pack_neighbours=4, batch_size=128)
    with pytest.raises(ValueError, match="needs 'pack' >= 2"):
        TrainConfig(pack=1, diversity_weight=1.0)
    with pytest.raises(ValueError, match=r"'diversity_floor' must be in 0\.0\.\.1\.0"):
        TrainConfig(diversity_floor=1.5)
