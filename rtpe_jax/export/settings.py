"""What an export is made with: the canvases (one signature each), the protocol's
input size, the flip test (and whether it is unbiased) and the grouping, from the
model directory's arch.json (OUT/export.json keeps them); an image placed on its
canvas."""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np

from rtpe_jax.inference import grouping, predictor, protocol
from rtpe_jax.models import weights


@dataclasses.dataclass(frozen=True)
class ExportSettings:
  """What an export was made with (OUT/export.json)."""

  canvases: tuple[tuple[int, int], ...]  # (h, w) each, one signature each
  input_size: int
  flip: bool
  grouping: grouping.GroupingConfig
  top_k: int = 30
  unbiased_flip: bool = False  # `protocol.flip_shift`
  map_stride: int = 1  # `predictor.Model.map_stride`: the maps' stride of the canvas

  @property
  def x_shift(self) -> float:
    """The shift of the grouped peaks (`protocol.flip_shift`)."""
    return protocol.flip_shift(self.flip, self.unbiased_flip)

  def to_dict(self) -> dict:
    return {
      "canvases": [list(c) for c in self.canvases],
      "input_size": self.input_size,
      "flip": self.flip,
      "grouping": dataclasses.asdict(self.grouping),
      "top_k": self.top_k,
      "unbiased_flip": self.unbiased_flip,
      "map_stride": self.map_stride,
    }

  @classmethod
  def from_dict(cls, d: dict) -> "ExportSettings":
    return cls(
      tuple(tuple(c) for c in d["canvases"]),
      d["input_size"],
      d["flip"],
      grouping.GroupingConfig(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in d["grouping"].items()}
      ),
      d["top_k"],
      d.get("unbiased_flip", False),  # an export written before the setting existed
      d.get("map_stride", 1),
    )

  def canvas_for(self, protocol_hw: tuple[int, int]) -> tuple[int, int]:
    """The smallest canvas (h, w) that holds a protocol-resized image of (h, w)."""
    fits = [c for c in self.canvases if c[0] >= protocol_hw[0] and c[1] >= protocol_hw[1]]
    if not fits:
      raise ValueError(
        f"an image resized to {protocol_hw[1]}x{protocol_hw[0]} fits none of the export's "
        f"canvases {', '.join(signature(c) for c in self.canvases)} (export with --canvas)"
      )
    return min(fits, key=lambda c: (c[0] * c[1], c))


def signature(canvas: tuple[int, int]) -> str:
  return f"canvas_{canvas[0]}x{canvas[1]}"


def default_canvases(input_size: int) -> tuple[tuple[int, int], ...]:
  """(h, w) of every protocol size whose longer side is 1 to 1.5 x the input size,
  landscape and portrait: the protocol's own input for aspect ratios up to 3:2."""
  longest = int(-(-1.5 * input_size // 64) * 64)
  out = []
  for side in range(input_size, longest + 1, 64):
    out += [(input_size, side)] + ([(side, input_size)] if side != input_size else [])
  return tuple(out)


def settings_for(
  model_dir: str,
  input_size: int | None = None,
  flip: bool | None = None,
  canvases=None,
  top_k: int = 30,
) -> ExportSettings:
  """The export's settings: what arch.json says the model was scored with, each
  overridden where given (canvases: (h, w) pairs)."""
  arch = weights.read_arch(model_dir)
  if arch["model"] != "attention_student":
    raise ValueError(f"{model_dir}: export takes a student, not a {arch['model']}")
  size = int(input_size or arch.get("input_size") or 512)
  flip = arch.get("flip", True) if flip is None else flip
  canvases = tuple(tuple(c) for c in canvases) if canvases else default_canvases(size)
  for c in canvases:
    if any(v % 64 for v in c) or min(c) < size:
      raise ValueError(f"canvas {c[0]}x{c[1]}: multiples of 64, at least the input size {size}")
  return ExportSettings(
    canvases,
    size,
    bool(flip),
    grouping.GroupingConfig(**arch.get("grouping", {})),
    top_k,
    bool(arch.get("unbiased_flip", False)),
    int(arch.get("map_stride", 1)),
  )


def read_settings(out_dir: str) -> ExportSettings:
  with open(os.path.join(out_dir, "export.json")) as f:
    return ExportSettings.from_dict(json.load(f))


def canvas_input(image: np.ndarray, settings: ExportSettings):
  """One RGB uint8 image (H, W, 3) -> the export's inputs (canvas (1, H', W', 3),
  valid_hw (1, 2)) and the protocol's (centre, scale, size) that map people back."""
  resized, center, scale, size = protocol.protocol_resize(image, settings.input_size)
  h, w = settings.canvas_for((size[1], size[0]))
  canvas = predictor.pad_to_canvas(resized, (w, h))
  return canvas[None], np.array([[size[1], size[0]]], np.int32), (center, scale, size)
