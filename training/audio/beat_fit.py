"""Train the beat/downbeat TCN on rendered clips (``render gmd --split train --backing train``), export ONNX.

Targets per frame: 1 at the frame of each beat (downbeat) of the clip's grid, 0.5 on its two neighbours
(the usual target widening: a frame off is nearly right). Loss: binary cross-entropy with the positives
weighted by ``POS_WEIGHT`` (beats are about 1 frame in 20). Each step takes random ``CHUNK_FRAMES``-frame
chunks, stretched in time by a factor in ``STRETCH`` (features and targets together: other tempos than the
renders'), with a random spectral tilt and noise. The exported model outputs probabilities.
"""

from __future__ import annotations

import io
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from companion.audio.decode import load_audio
from companion.audio.features import mel_frames, model_input
from companion.core.atomic import atomic_write_bytes
from training.audio.beat_model import BeatModelConfig, BeatTCN, _Probabilities
from training.audio.render import read_truth

CHUNK_FRAMES = 512
STRETCH = (0.8, 1.25)
POS_WEIGHT = 8.0
OPSET = 17
MODEL_FORMAT = "nudge-beats/1"


@dataclass
class FitConfig:
    steps: int = 1500
    batch: int = 16
    lr: float = 2e-3
    seed: int = 0


def clip_arrays(wav: Path) -> tuple[np.ndarray, np.ndarray]:
    """(features [2M, F], targets [2, F]) of one rendered clip."""
    truth = read_truth(wav.with_suffix("").with_suffix(".truth.json"))
    frames = mel_frames(load_audio(wav))
    features = model_input(frames)
    targets = np.zeros((2, frames.count), dtype=np.float32)
    for row, times in enumerate((truth.beats_s, truth.downbeats_s)):
        index = np.round(np.asarray(times) / frames.hop_s).astype(int)
        index = index[(index >= 0) & (index < frames.count)]
        for shift, value in ((-1, 0.5), (1, 0.5), (0, 1.0)):
            near = np.clip(index + shift, 0, frames.count - 1)
            targets[row, near] = np.maximum(targets[row, near], value)
    return features, targets


def _batch(clips: list[tuple[np.ndarray, np.ndarray]], size: int, rng: np.random.Generator):
    xs, ys = [], []
    for _ in range(size):
        features, targets = clips[rng.integers(len(clips))]
        stretch = rng.uniform(*STRETCH)
        source_len = int(CHUNK_FRAMES * stretch)
        total = features.shape[1]
        start = rng.integers(0, max(1, total - source_len))
        x = torch.from_numpy(features[:, start : start + source_len])[None]
        y = torch.from_numpy(targets[:, start : start + source_len])[None]
        x = F.interpolate(x, size=CHUNK_FRAMES, mode="linear", align_corners=False)[0]
        y = F.interpolate(y, size=CHUNK_FRAMES, mode="nearest")[0]
        if x.shape[1] < CHUNK_FRAMES:
            x = F.pad(x, (0, CHUNK_FRAMES - x.shape[1]))
            y = F.pad(y, (0, CHUNK_FRAMES - y.shape[1]))
        tilt = torch.linspace(-1.0, 1.0, x.shape[0] // 2)[:, None] * rng.uniform(-0.08, 0.08)
        x[: x.shape[0] // 2] = (x[: x.shape[0] // 2] + tilt).clamp(0.0, 1.0)
        x = x + torch.randn_like(x) * rng.uniform(0.0, 0.02)
        xs.append(x)
        ys.append(y)
    return torch.stack(xs), torch.stack(ys)  # [B, 2M, T], [B, 2, T]


def fit(
    wavs: list[Path], config: FitConfig | None = None, model_config: BeatModelConfig | None = None
) -> BeatTCN:
    config = config or FitConfig()
    model_config = model_config or BeatModelConfig()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    clips = [clip_arrays(w) for w in wavs]
    model = BeatTCN(model_config)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=config.lr, total_steps=config.steps)
    weight = torch.tensor([POS_WEIGHT, POS_WEIGHT * 2])[None, :, None]
    started = time.perf_counter()
    model.train()
    for step in range(config.steps):
        x, y = _batch(clips, config.batch, rng)
        logits = model(x)
        loss = F.binary_cross_entropy_with_logits(logits, y, pos_weight=weight)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if step % 100 == 0 or step == config.steps - 1:
            print(
                f"step {step:5d}  loss {loss.item():.4f}  {time.perf_counter() - started:.0f} s", flush=True
            )
    model.eval()
    return model


def export_onnx(model: BeatTCN, path: str | os.PathLike, info: dict) -> Path:
    """Write the model as ONNX (input ``features`` [1, 2M, T], output ``activations`` [1, 2, T])."""
    import onnx

    wrapper = _Probabilities(model).eval()
    example = torch.zeros(1, model.config.in_channels, 200)
    buffer = io.BytesIO()
    torch.onnx.export(
        wrapper,
        (example,),
        buffer,  # type: ignore[arg-type]  # (torch's stub leaves out the file objects it takes)
        input_names=["features"],
        output_names=["activations"],
        dynamic_axes={"features": {2: "T"}, "activations": {2: "T"}},
        opset_version=OPSET,
        dynamo=False,
    )
    proto = onnx.load_from_string(buffer.getvalue())
    meta = {"format": MODEL_FORMAT, "config": model.config.to_dict(), **info}
    entry = proto.metadata_props.add()
    entry.key, entry.value = "nudge_beats", json.dumps(meta)
    return atomic_write_bytes(path, proto.SerializeToString())
