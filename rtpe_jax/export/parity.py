"""Each exported format against JAX: the inputs they are compared on and how far
apart they may be."""

from __future__ import annotations

import numpy as np

from rtpe_jax.export.settings import ExportSettings

# The largest |exported - JAX| a format may show on the test inputs, as a
# fraction of the JAX maps' largest magnitude (heatmaps and tags apart): float32
# graphs differ only in the order of float operations (measured 3e-7 to 6e-7 on
# the trained quickstart student), float16 weights round to 11 significant bits
# (5e-4 there; under 1e-2 with random weights): docs/realtime.md.
TOLERANCE = {"saved_model": 1e-5, "student_float32.tflite": 1e-5, "student_float16.tflite": 1e-2}


def parity_inputs(settings: ExportSettings) -> list[tuple[np.ndarray, np.ndarray]]:
  """What the formats are compared on: per canvas, a synthetic picture with
  people resized to fill it, (images (1, H, W, 3), valid_hw (1, 2))."""
  import cv2

  from rtpe_jax.data.synthetic import scenes

  image = np.asarray(scenes.make_image(0, "val2017", 3, size=settings.input_size)[0])
  return [
    (cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)[None], np.array([[h, w]], np.int32))
    for h, w in settings.canvases
  ]


def differences(outputs: dict, reference: dict) -> float:
  """The largest |output - JAX| of the heatmaps, of the tags and of a 3D
  student's depth maps, each as a fraction of the JAX maps' largest magnitude."""
  return max(
    float(np.abs(outputs[k] - reference[k]).max() / max(np.abs(reference[k]).max(), 1e-12))
    for k in ("heatmaps", "tags", "depth")
    if k in reference
  )
