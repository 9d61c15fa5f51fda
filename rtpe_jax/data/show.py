"""Pictures of training samples, before and after augmentation.

  python -m rtpe_jax.data.show --config configs/quickstart.py --out out/show \
      [--samples 8] [--stand_in_teacher]

One PNG per sample. Top row, the image as stored: joints (left side blue,
right side orange, centre green), ignore mask in red, person mask outlined,
teacher heatmaps (max over joints). Bottom row, the augmented sample: crop with
joints, loss weights, ground truth at each spread and stride, person mask,
teacher heatmaps and one teacher tag map, all at their own resolution scaled up.
--stand_in_teacher writes a store of ground-truth stand-in maps to OUT/teacher
when the config names none (labelled as such in the pictures).
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf
from absl import app, flags
from ml_collections import config_flags
from PIL import Image, ImageDraw

from rtpe_jax import coordinates, preprocess
from rtpe_jax.data import ground_truth_teacher, pipeline
from rtpe_jax.data import teacher_store as ts
from rtpe_jax.inference.overlays import diverging, heat
from rtpe_jax.keypoints import joint_colour

_CONFIG = config_flags.DEFINE_config_file("config", None, "config file", lock_config=False)
_OUT = flags.DEFINE_string("out", None, "output directory")
_SAMPLES = flags.DEFINE_integer("samples", 8, "pictures to write")
_STAND_IN = flags.DEFINE_bool("stand_in_teacher", False, "ground-truth stand-in teacher maps")

PANEL = 256


def _panel(
  rgb: np.ndarray, title: str, joints: np.ndarray | None = None, to_rgb=None
) -> Image.Image:
  """rgb (H, W, 3) resized to PANEL high, joints (P, 17, 3) drawn at their
  positions in rgb (`rtpe_jax.coordinates`), through the (3, 3) affine `to_rgb`
  when given (e.g. `coordinates.to_map` for a map)."""
  h, w = rgb.shape[:2]
  factor = PANEL / h
  image = Image.fromarray(rgb).resize((max(1, round(w * factor)), PANEL), Image.NEAREST)
  draw = ImageDraw.Draw(image)
  if joints is not None:
    joints = np.array(joints, np.float64)
    if to_rgb is not None:
      joints[..., :2] = coordinates.apply(to_rgb, joints[..., :2])
    for person in joints:
      for k, (x, y, v) in enumerate(person):
        if v > 0:
          cx, cy = x * factor, y * factor
          r = 3 if v == 2 else 2
          draw.ellipse(
            [cx - r, cy - r, cx + r, cy + r],
            fill=joint_colour(k) if v == 2 else None,
            outline=joint_colour(k),
          )
  draw.rectangle([0, 0, image.width, 14], fill=(0, 0, 0))
  draw.text((3, 1), title, fill=(255, 255, 255))
  return image


def _row(panels) -> Image.Image:
  width = sum(p.width for p in panels) + 4 * (len(panels) - 1)
  row = Image.new("RGB", (width, PANEL), (255, 255, 255))
  x = 0
  for p in panels:
    row.paste(p, (x, 0))
    x += p.width + 4
  return row


def before_panels(raw: dict, teacher: ts.TeacherPrediction | None, label: str):
  image = raw["image"].astype(np.float32)
  tint = image.copy()
  tint[raw["ignore_mask"] > 0] = 0.5 * tint[raw["ignore_mask"] > 0] + [127, 0, 0]
  edges = raw["person_mask"].astype(bool)
  edges = edges & ~(
    np.roll(edges, 1, 0) & np.roll(edges, -1, 0) & np.roll(edges, 1, 1) & np.roll(edges, -1, 1)
  )
  tint[edges] = (255, 255, 255)
  panels = [
    _panel(
      tint.astype(np.uint8), f"image {int(raw['image_id'])}: joints, ignore, people", raw["joints"]
    )
  ]
  if teacher is not None:
    panels.append(
      _panel(
        heat(teacher.heatmaps.max(-1)),
        f"{label} heatmaps, 1/2",
        raw["joints"],
        np.linalg.inv(coordinates.as_3x3(teacher.affine)),
      )
    )
  return panels


def after_panels(sample: dict, cfg, label: str, colour_space: str = ""):
  joints = sample["joints"]
  panels = [_panel(sample["image"], "augmented crop", joints)]
  if colour_space:
    alternate = np.asarray(preprocess.alternate_colour_space(sample["image"], colour_space))
    low, high = alternate.min(axis=(0, 1)), alternate.max(axis=(0, 1))
    stretched = (255 * (alternate - low) / np.maximum(high - low, 1e-6)).astype(np.uint8)
    panels.append(_panel(stretched, f"{colour_space} input (stretched)"))
  s = min(cfg.output_strides)
  panels.append(_panel(heat(sample[f"weights_{s}"]), f"loss weights 1/{s}"))
  for stride in cfg.output_strides:
    for i, sigma in enumerate(cfg.sigmas):
      panels.append(
        _panel(
          heat(sample[f"heatmaps_{stride}"][i].max(-1)),
          f"truth 1/{stride}, sigma {sigma:g}",
          joints,
          coordinates.to_map(stride),
        )
      )
  panels.append(_panel(heat(sample[f"person_mask_{s}"]), f"person mask 1/{s}"))
  if "teacher_heatmaps" in sample:
    t = cfg.teacher_stride
    panels.append(
      _panel(
        heat(sample["teacher_heatmaps"].max(-1)), f"{label} 1/{t}", joints, coordinates.to_map(t)
      )
    )
    panels.append(_panel(diverging(sample["teacher_tags"][..., 0]), f"{label} tag (nose)"))
  return panels


def write_pictures(
  cfg, out: str, samples: int, label: str = "teacher", colour_space: str = ""
) -> list[str]:
  """PNGs of the first `samples` training samples of the data config `cfg`, with
  the student's second input in `colour_space` ("lab", "hsv"; "" for none)."""
  os.makedirs(out, exist_ok=True)
  source = pipeline.make_source(cfg, cfg.train_split, require_people=True)
  paths = []
  for n in range(min(samples, len(source))):
    raw = source.load_dict(n)
    teacher = source.store[int(raw["image_id"])] if source.store is not None else None
    seed = tf.constant([cfg.seed, n], tf.int64)
    sample = pipeline.train_sample({k: tf.constant(v) for k, v in raw.items()}, seed, cfg)
    sample = {k: v.numpy() for k, v in sample.items()}
    top, bottom = (
      _row(before_panels(raw, teacher, label)),
      _row(after_panels(sample, cfg, label, colour_space)),
    )
    canvas = Image.new("RGB", (max(top.width, bottom.width), 2 * PANEL + 8), (255, 255, 255))
    canvas.paste(top, (0, 0))
    canvas.paste(bottom, (0, PANEL + 8))
    path = os.path.join(out, f"sample_{n:02d}_{int(raw['image_id'])}.png")
    canvas.save(path)
    paths.append(path)
  return paths


def main(argv):
  del argv
  cfg = _CONFIG.value.data
  student = _CONFIG.value.model.get("student")
  colour_space = student.colour_space if student and student.colour_channels else ""
  label = "teacher"
  if _STAND_IN.value and not cfg.teacher_store:
    cfg.teacher_store = ground_truth_teacher.write_stand_in_store(
      cfg.root, (cfg.train_split,), os.path.join(_OUT.value, "teacher")
    )
    label = "stand-in teacher"
  for path in write_pictures(cfg, _OUT.value, _SAMPLES.value, label, colour_space):
    print(path)


if __name__ == "__main__":
  flags.mark_flags_as_required(["config", "out"])
  app.run(main)
