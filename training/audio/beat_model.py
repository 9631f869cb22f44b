"""The beat and downbeat activation network: a small non-causal TCN over log-mel frames (torch).

Input  float32 [B, 2 * N_MELS, T]  (``companion.audio.features.model_input``: scaled log-mel + its flux)
Output float32 [B, 2, T]           logits of "a beat starts in this frame" and "a downbeat starts here"

A 3-frame input convolution to ``hidden`` channels, then residual blocks of dilated convolutions
(kernel 5, dilations 1..128: a receptive field of about 12 s, several bars at any tempo), then a 1x1
convolution to the two heads. As in Böck and Davies' TCN beat trackers (ISMIR 2019/2020), but small
enough to train on two CPU cores.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from companion.audio.features import N_MELS


@dataclass(frozen=True)
class BeatModelConfig:
    in_channels: int = 2 * N_MELS
    hidden: int = 24
    kernel: int = 5
    dilations: tuple[int, ...] = field(default=(1, 2, 4, 8, 16, 32, 64, 128))
    dropout: float = 0.1

    def to_dict(self) -> dict:
        return {**asdict(self), "dilations": list(self.dilations)}


class _Block(nn.Module):
    def __init__(self, channels: int, kernel: int, dilation: int, dropout: float):
        super().__init__()
        self.conv = nn.Conv1d(
            channels, channels, kernel, dilation=dilation, padding=dilation * (kernel - 1) // 2
        )
        self.mix = nn.Conv1d(channels, channels, 1)
        self.act = nn.ELU()
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, C, T] -> [B, C, T]
        return x + self.mix(self.drop(self.act(self.conv(x))))


class BeatTCN(nn.Module):
    def __init__(self, config: BeatModelConfig = BeatModelConfig()):
        super().__init__()
        self.config = config
        self.inp = nn.Sequential(nn.Conv1d(config.in_channels, config.hidden, 3, padding=1), nn.ELU())
        self.blocks = nn.Sequential(
            *(_Block(config.hidden, config.kernel, d, config.dropout) for d in config.dilations)
        )
        self.heads = nn.Conv1d(config.hidden, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, 2M, T] -> logits [B, 2, T]
        return self.heads(self.blocks(self.inp(x)))


class _Probabilities(nn.Module):
    def __init__(self, model: BeatTCN):
        super().__init__()
        self.model = model

    def forward(self, features: torch.Tensor) -> torch.Tensor:  # [1, 2M, T] -> [1, 2, T] in 0..1
        return torch.sigmoid(self.model(features))
