"""The synthetic figures' geometry: a pose of 17 joints (positions as in
`rtpe_jax.coordinates`) and the body's filled shapes around it."""

from __future__ import annotations

import numpy as np

# Limbs drawn as thick segments: (joint a, joint b, relative width).
LIMBS = (
  (5, 7, 0.09),
  (7, 9, 0.07),
  (6, 8, 0.09),
  (8, 10, 0.07),
  (11, 13, 0.12),
  (13, 15, 0.09),
  (12, 14, 0.12),
  (14, 16, 0.09),
)


def rotate(v, angle):
  c, s = np.cos(angle), np.sin(angle)
  return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def make_pose(rng: np.random.Generator, center: np.ndarray, height: float) -> np.ndarray:
  """17 (x, y) joints of a standing / walking / waving figure `height` px tall."""
  lean = rng.normal(0, 0.12)
  up = rotate(np.array([0.0, -1.0]), lean)
  right = np.array([-up[1], up[0]])  # image right when facing the camera
  facing = rng.choice([-1.0, 1.0], p=[0.3, 0.7])  # -1: seen from the back (left/right swap)
  hip_mid = center + up * 0.02 * height
  neck = hip_mid + up * 0.33 * height
  head = neck + up * 0.11 * height
  j = np.zeros((17, 2))
  shoulder = 0.11 * height
  hip = 0.07 * height
  # COCO "left" is the person's left: on the image right when facing the camera.
  j[5], j[6] = neck + facing * right * shoulder, neck - facing * right * shoulder
  j[11], j[12] = hip_mid + facing * right * hip, hip_mid - facing * right * hip
  for side, (s, e, w) in enumerate(((5, 7, 9), (6, 8, 10))):
    sign = facing * (1 if side == 0 else -1)
    a1 = rng.uniform(-0.3, 2.6)  # upper arm: hanging .. raised
    a2 = a1 + rng.uniform(-0.2, 1.8)
    down = -up
    j[e] = j[s] + rotate(down, sign * a1) * 0.17 * height
    j[w] = j[e] + rotate(down, sign * a2) * 0.15 * height
  for side, (h, k, a) in enumerate(((11, 13, 15), (12, 14, 16))):
    sign = facing * (1 if side == 0 else -1)
    t1 = rng.uniform(-0.15, 0.5)
    t2 = t1 - rng.uniform(0.0, 0.8)
    down = -up
    j[k] = j[h] + rotate(down, sign * t1) * 0.24 * height
    j[a] = j[k] + rotate(down, sign * t2) * 0.23 * height
  turn = rng.uniform(-0.5, 0.5)  # head yaw: moves the face features sideways
  eye = 0.035 * height
  j[0] = head + right * turn * 0.04 * height - up * 0.01 * height
  j[1] = head + facing * right * eye + right * turn * 0.03 * height + up * 0.015 * height
  j[2] = head - facing * right * eye + right * turn * 0.03 * height + up * 0.015 * height
  j[3] = head + facing * right * 0.06 * height
  j[4] = head - facing * right * 0.06 * height
  return j


def segment_polygon(a, b, width) -> list[tuple[float, float]]:
  d = b - a
  n = np.array([-d[1], d[0]]) / (np.linalg.norm(d) + 1e-6) * width / 2
  return [tuple(a + n), tuple(b + n), tuple(b - n), tuple(a - n)]


def ellipse_polygon(c, rx, ry, n=16) -> list[tuple[float, float]]:
  t = np.linspace(0, 2 * np.pi, n, endpoint=False)
  return [(c[0] + rx * np.cos(a), c[1] + ry * np.sin(a)) for a in t]


def body_polygons(j: np.ndarray, height: float, rng: np.random.Generator):
  """Filled shapes of a figure: [(polygon, colour)] in drawing order (its mask)."""
  skin = tuple(int(v) for v in rng.integers(90, 240, 3))
  shirt = tuple(int(v) for v in rng.integers(0, 256, 3))
  trousers = tuple(int(v) for v in rng.integers(0, 256, 3))
  thickness = rng.uniform(0.8, 1.3)
  neck = (j[5] + j[6]) / 2
  shapes = [([tuple(j[5]), tuple(j[6]), tuple(j[12]), tuple(j[11])], shirt)]
  for a, b, w in LIMBS:
    colour = shirt if a in (5, 6, 7, 8) else trousers
    shapes.append((segment_polygon(j[a], j[b], w * height * thickness), colour))
  head = (j[3] + j[4]) / 2
  shapes.append((segment_polygon(neck, head, 0.06 * height), skin))
  shapes.append((ellipse_polygon(head, 0.075 * height, 0.09 * height), skin))
  return shapes


def facing_camera(j: np.ndarray) -> bool:
  """Whether the figure faces the camera: its left shoulder is on the image right."""
  return bool(j[5, 0] > j[6, 0])
