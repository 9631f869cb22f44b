"""The tools graph beside a generator (``NAME.tools.onnx``): loaded with it, checked against it, part of it
in the models folder."""

from __future__ import annotations

import os

import numpy as np
import pytest

from companion.core.pattern import Grid
from companion.runtime.model import ModelError, load_model
from companion.runtime.models_dir import ModelsDir
from companion.runtime.tools_model import TASKS, ToolsMeta, tools_path_for
from tests.support.tiny_onnx import write_tiny_model
from tests.support.tiny_tools import base_json, tiny_tools_bytes, write_tiny_tools


@pytest.fixture
def model_path(tmp_path):
    return write_tiny_model(tmp_path / "tiny.onnx", grid=Grid(4, 4, 2))


def test_a_model_loads_its_tools_graph_and_runs_every_task(model_path):
    assert load_model(model_path).tools is None
    write_tiny_tools(model_path)
    model = load_model(model_path)
    assert model.tools is not None and model.tools.meta.tasks == TASKS
    assert load_model(model_path, tools=False).tools is None


def test_a_tools_graph_of_another_generator_is_not_used_and_says_why(model_path, tmp_path):
    other = write_tiny_model(tmp_path / "other.onnx", grid=Grid(4, 4, 2), seed=1, name="other")
    tools_path_for(model_path).write_bytes(tiny_tools_bytes(base_json(other)))
    model = load_model(model_path)  # the generator serves on (a new generator copied over an old one)
    assert model.tools is None and "made for another generator" in model.tools_problem
    from companion.runtime import tools
    from tests.runtime.test_tools import beat

    with pytest.raises(ModelError, match=r"fill needs the model's tools graph.*made for another generator"):
        tools.fill(model, beat(), {})


@pytest.mark.parametrize(
    ("payload", "message"),
    [(b"not onnx at all", "not a loadable ONNX tools graph"), (b"", "a tools graph is 1..")],
)
def test_a_broken_tools_graph_is_not_used(model_path, payload, message):
    tools_path_for(model_path).write_bytes(payload)
    model = load_model(model_path)
    assert model.tools is None and message in model.tools_problem


def test_a_link_out_of_the_folder_is_not_followed(model_path, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    target = outside / "t.onnx"
    target.write_bytes(tiny_tools_bytes(base_json(model_path)))
    os.symlink(target, tools_path_for(model_path))
    model = load_model(model_path)
    assert model.tools is None and "not a regular file in the model's folder" in model.tools_problem


def test_the_models_folder_lists_no_tools_graph_and_notices_when_it_changes(model_path):
    folder = ModelsDir(model_path.parent)
    write_tiny_tools(model_path)
    assert folder.names() == ["tiny"]
    assert folder.poll() == ["tiny"]  # a new tools graph changes the model
    assert folder.poll() == []
    write_tiny_tools(model_path, seed=3)
    assert folder.poll() == ["tiny"]
    assert folder.load("tiny").tools is not None


def test_tools_meta_round_trips_and_names_what_is_wrong():
    meta = ToolsMeta(TASKS, "a" * 64, 2, {"steps": 1})
    assert ToolsMeta.from_json(meta.to_json()) == meta
    for text, message in [
        ('{"format": 2}', "tools format 2 is not supported"),
        ('{"format": 1, "tasks": ["groove"]}', "must be"),
        ('{"format": 1, "tasks": ["generate"], "base": "x", "unknown_style": 0}', "SHA-256"),
        ("[1", "not valid JSON"),
    ]:
        with pytest.raises(ValueError, match=message):
            ToolsMeta.from_json(text)


def test_run_checks_its_inputs(model_path):
    write_tiny_tools(model_path)
    tools = load_model(model_path).tools
    with pytest.raises(ValueError, match="known must be float32"):
        tools.run(
            np.zeros((1, 8), np.float32),
            np.zeros((1, 2), np.float32),
            np.zeros(1, np.int64),
            np.zeros((1, 3, 9, 31), np.float32),
            np.zeros((1, 2, 9, 32), np.float32),
            rhythm=np.zeros((1, 32), np.float32),
            task=tools.task_vector("groove", 1),
        )
    with pytest.raises(ValueError, match="no task 'dance'"):
        tools.task_vector("dance", 1)
