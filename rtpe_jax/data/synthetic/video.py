"""A short synthetic clip: figures walking across a fixed background."""

from __future__ import annotations

import os

import numpy as np
from PIL import ImageDraw

from rtpe_jax.data.synthetic import drawing, figures


def video_frames(num_frames: int = 24, size: int = 256, people: int = 3, seed: int = 0):
  """RGB uint8 frames (size * 4/3 x size) of figures walking across a fixed
  background, and their joints per frame (num_frames, people, 17, 2) as positions
  (`rtpe_jax.coordinates`)."""
  rng = np.random.default_rng([seed, 2])
  w, h = int(size * 4 / 3), size
  background = drawing.background(rng, w, h)
  starts = [
    (
      rng.uniform(0.1, 0.9) * w,
      rng.uniform(0.5, 0.9) * h,
      rng.uniform(80, 1.0 * h),
      rng.choice([-1.0, 1.0]) * rng.uniform(1.0, 3.0),
    )
    for _ in range(people)
  ]
  frames, joints = [], []
  for t in range(num_frames):
    image = background.copy()
    draw = ImageDraw.Draw(image)
    frame_joints = []
    for p, (x, y, height, speed) in enumerate(starts):
      person_rng = np.random.default_rng([seed, 3, p])  # the same pose and colours every frame
      j = figures.make_pose(person_rng, np.array([x + speed * t, y]), height)
      drawing.draw_figure(draw, j, height, person_rng)
      frame_joints.append(j)
    frames.append(np.asarray(image))
    joints.append(frame_joints)
  return frames, np.asarray(joints)


def write_video(
  path: str, num_frames: int = 24, size: int = 256, seed: int = 0, fps: float = 12.0
) -> str:
  """A short synthetic video (Motion-JPEG .avi) for `predict.py --video`."""
  import cv2

  frames, _ = video_frames(num_frames, size, seed=seed)
  h, w = frames[0].shape[:2]
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
  if not writer.isOpened():
    raise RuntimeError(f"{path}: OpenCV cannot write Motion-JPEG video here")
  for frame in frames:
    writer.write(frame[..., ::-1])
  writer.release()
  return path
