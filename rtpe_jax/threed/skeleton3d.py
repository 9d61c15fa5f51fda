"""3D people for the synthetic 3D data and the lifter: a skeleton with human
proportions, joint angles within human limits, poses from a mixture of modes.

Poses are (N, 17, 3) in millimetres, COCO's joint order, in a body frame
whose axes are the person's left (x), up (y) and forward (z) (right-handed),
with the floor at y = 0 and the mid-hip above the origin; `place` turns them
about the vertical and stands them at points of the floor. Everything works on
N people at once (NumPy arrays with a leading person axis): the lifter draws
its training poses by the thousand.

Segment lengths are fractions of the body height (Drillis and Contini's
anthropometric table, rounded), each jittered per person.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from rtpe_jax import keypoints
from rtpe_jax.threed.metrics3d import root

J = {name: i for i, name in enumerate(keypoints.NAMES)}

# Lengths as fractions of the height: joint to joint.
PROPORTIONS = {
  "hip_half_width": 0.052,  # mid-hip to a hip joint
  "shoulder_half_width": 0.105,  # mid-shoulder to a shoulder joint
  "trunk": 0.288,  # mid-hip to mid-shoulder
  "upper_arm": 0.186,
  "forearm": 0.146,
  "thigh": 0.245,
  "shin": 0.246,
  "ankle_height": 0.039,
  "neck_to_nose": 0.100,  # mid-shoulder up to the nose's height
  "nose_forward": 0.040,
  "eye_up": 0.018,
  "eye_half_width": 0.030,
  "eye_forward": 0.030,
  "ear_half_width": 0.065,
  "ear_up": 0.010,
}
JITTER = 0.04  # each length times a factor in [1 - JITTER, 1 + JITTER]
HEIGHT_MM = (1500.0, 1950.0)

# Joint-angle limits in degrees (flexion forward positive).
LIMITS = {
  "lean": (-20.0, 60.0),  # the trunk forward from the vertical
  "twist": (-40.0, 40.0),  # the shoulders about the vertical, against the hips
  "hip_flexion": (-30.0, 130.0),
  "hip_abduction": (-10.0, 45.0),
  "knee_flexion": (0.0, 155.0),
  "shoulder_flexion": (-50.0, 180.0),
  "shoulder_abduction": (-10.0, 170.0),
  "elbow_flexion": (0.0, 150.0),
  "head_yaw": (-70.0, 70.0),
  "head_pitch": (-40.0, 40.0),  # positive: the face turns down
}
SIDES = ("left", "right")
MODES = ("standing", "walking", "reaching", "sitting", "crouching")
# The modes that bend both sides alike: the range of each angle (degrees).
BENT_MODES = {
  "sitting": {
    "lean": (-10, 20),
    "hip_flexion": (75, 100),
    "knee_flexion": (70, 100),
    "hip_abduction": (0, 20),
    "shoulder_flexion": (10, 50),
    "elbow_flexion": (30, 90),
  },
  "crouching": {
    "lean": (20, 50),
    "hip_flexion": (90, 125),
    "knee_flexion": (110, 150),
    "hip_abduction": (5, 30),
    "shoulder_flexion": (20, 80),
    "elbow_flexion": (20, 100),
  },
}


@dataclasses.dataclass(frozen=True)
class Body:
  """People's sizes: heights (N,) mm and the lengths of PROPORTIONS, each (N,) mm."""

  height: np.ndarray
  lengths: dict


def sample_bodies(rng: np.random.Generator, n: int) -> Body:
  height = rng.uniform(*HEIGHT_MM, n)
  jitter = {k: rng.uniform(1 - JITTER, 1 + JITTER, n) for k in PROPORTIONS}
  return Body(height, {k: height * v * jitter[k] for k, v in PROPORTIONS.items()})


def _angles_of_mode(mode: str, rng: np.random.Generator, n: int) -> dict:
  """Joint angles (degrees, each (n,)) of n poses of `mode`, before the limits."""

  def u(low, high):
    return rng.uniform(low, high, n)

  a = {"lean": u(-5, 10), "twist": u(-15, 15), "head_yaw": u(-45, 45), "head_pitch": u(-20, 20)}
  for side in SIDES:
    a[f"{side}_hip_flexion"] = u(-5, 10)
    a[f"{side}_hip_abduction"] = u(0, 10)
    a[f"{side}_knee_flexion"] = u(0, 15)
    a[f"{side}_shoulder_flexion"] = u(-10, 20)
    a[f"{side}_shoulder_abduction"] = u(0, 20)
    a[f"{side}_elbow_flexion"] = u(0, 30)
  leads = {"left": rng.uniform(size=n) < 0.5}
  leads["right"] = ~leads["left"]
  if mode == "walking":
    for name, lead, back in (
      ("hip_flexion", (15, 35), (-20, -5)),
      ("knee_flexion", (0, 25), (15, 60)),
      ("shoulder_flexion", (-30, -5), (10, 35)),
    ):
      for side in SIDES:
        a[f"{side}_{name}"] = np.where(leads[side], u(*lead), u(*back))
    for side in SIDES:
      a[f"{side}_elbow_flexion"] = u(10, 50)
  elif mode == "reaching":
    both = rng.uniform(size=n) < 0.4
    for name, reach in (
      ("shoulder_flexion", (50, 175)),
      ("shoulder_abduction", (0, 70)),
      ("elbow_flexion", (0, 50)),
    ):
      for side in SIDES:
        a[f"{side}_{name}"] = np.where(leads[side] | both, u(*reach), a[f"{side}_{name}"])
    a["lean"] = u(0, 25)
  elif mode in BENT_MODES:
    for joint, (low, high) in BENT_MODES[mode].items():
      for key in [joint] if joint == "lean" else [f"{side}_{joint}" for side in SIDES]:
        a[key] = u(low, high)
  elif mode != "standing":
    raise ValueError(f"mode {mode!r}: use one of {MODES}")
  return a


def clip_to_limits(angles: dict) -> dict:
  """Each angle clipped to LIMITS (by its name without the side)."""
  out = {}
  for name, value in angles.items():
    low, high = LIMITS[name.split("_", 1)[1] if name.startswith(SIDES) else name]
    out[name] = np.clip(value, low, high)
  return out


def sample_angles(
  rng: np.random.Generator, n: int, mode: str | None = None, noise: float = 8.0
) -> dict:
  """Joint angles (degrees, each (n,)): each person's mode (uniform over MODES
  unless given), its ranges, Gaussian noise of `noise` degrees on every angle,
  the limits."""
  if mode is not None and mode not in MODES:
    raise ValueError(f"mode {mode!r}: use one of {MODES}")
  modes = rng.integers(len(MODES), size=n) if mode is None else np.full(n, MODES.index(mode))
  angles = {}
  for m, name in enumerate(MODES):
    chosen = modes == m
    if chosen.any():
      for key, value in _angles_of_mode(name, rng, int(chosen.sum())).items():
        angles.setdefault(key, np.zeros(n))[chosen] = value
  return clip_to_limits({k: v + rng.normal(0, noise, n) for k, v in angles.items()})


def sample_uniform_angles(rng: np.random.Generator, n: int) -> dict:
  """Joint angles (degrees, each (n,)) drawn independently and uniformly within
  their LIMITS: poses no mode makes (asymmetric, mixed), for a broader prior."""
  names = sample_angles(np.random.default_rng(0), 1).keys()
  limit = lambda name: LIMITS[name.removeprefix("left_").removeprefix("right_")]
  return {name: rng.uniform(*limit(name), n) for name in names}


def rotation(axis: np.ndarray, degrees) -> np.ndarray:
  """(..., 3, 3) rotations by `degrees` (...) about `axis` (..., 3) (right hand)."""
  axis = np.asarray(axis, np.float64)
  axis = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
  t = np.radians(np.asarray(degrees, np.float64))[..., None, None]
  x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
  zero = np.zeros_like(x)
  k = np.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).reshape(*x.shape, 3, 3)
  return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * k @ k


LEFT, UP, FORWARD = np.eye(3)


def _apply(matrices: np.ndarray, vector: np.ndarray) -> np.ndarray:
  """(N, 3, 3) @ (3,) or (N, 3) -> (N, 3)."""
  return np.einsum("nij,nj->ni", matrices, np.broadcast_to(vector, matrices.shape[:-1]))


def _limb(side: str, flexion: np.ndarray, abduction: np.ndarray) -> np.ndarray:
  """(N, 3, 3): the rotations that take a segment hanging down (-UP) to the
  limb's direction: abduction raises it sideways (outwards), then flexion swings
  it forward."""
  # About FORWARD, positive turns -UP towards LEFT: the left side abducts with +.
  outwards = 1.0 if side == "left" else -1.0
  # About LEFT, a negative angle turns -UP towards FORWARD.
  return rotation(LEFT, -flexion) @ rotation(FORWARD, outwards * abduction)


def pose(body: Body, angles: dict) -> np.ndarray:
  """(N, 17, 3) mm in the body frame (x left, y up, z forward), standing on
  y = 0 (the lowest ankle at the ankle's height)."""
  L = body.lengths
  n = len(body.height)
  joints = np.zeros((n, keypoints.NUM_JOINTS, 3))
  down = -UP
  # About LEFT, a positive angle turns UP towards FORWARD: the trunk leans forward.
  trunk = rotation(LEFT, angles["lean"]) @ rotation(UP, angles["twist"])
  neck = _apply(trunk, UP) * L["trunk"][:, None]
  for side, sign in (("left", 1.0), ("right", -1.0)):
    hip = np.outer(L["hip_half_width"], sign * LEFT)
    thigh = _limb(side, angles[f"{side}_hip_flexion"], angles[f"{side}_hip_abduction"])
    knee = hip + _apply(thigh, down) * L["thigh"][:, None]
    # The knee bends the shin backwards, about the thigh's own lateral axis.
    shin = rotation(_apply(thigh, LEFT), angles[f"{side}_knee_flexion"]) @ thigh
    ankle = knee + _apply(shin, down) * L["shin"][:, None]
    shoulder = neck + _apply(trunk, sign * LEFT) * L["shoulder_half_width"][:, None]
    upper = trunk @ _limb(
      side, angles[f"{side}_shoulder_flexion"], angles[f"{side}_shoulder_abduction"]
    )
    elbow = shoulder + _apply(upper, down) * L["upper_arm"][:, None]
    # The elbow bends the forearm forwards, about the upper arm's lateral axis.
    fore = rotation(_apply(upper, LEFT), -angles[f"{side}_elbow_flexion"]) @ upper
    wrist = elbow + _apply(fore, down) * L["forearm"][:, None]
    for name, value in (
      ("hip", hip),
      ("knee", knee),
      ("ankle", ankle),
      ("shoulder", shoulder),
      ("elbow", elbow),
      ("wrist", wrist),
    ):
      joints[:, J[f"{side}_{name}"]] = value
  head = trunk @ rotation(UP, angles["head_yaw"]) @ rotation(LEFT, angles["head_pitch"])
  up = L["neck_to_nose"]
  face = {
    "nose": (0.0, up, L["nose_forward"]),
    "left_eye": (L["eye_half_width"], up + L["eye_up"], L["eye_forward"]),
    "right_eye": (-L["eye_half_width"], up + L["eye_up"], L["eye_forward"]),
    "left_ear": (L["ear_half_width"], up + L["ear_up"], 0.0),
    "right_ear": (-L["ear_half_width"], up + L["ear_up"], 0.0),
  }
  for name, (x, y, z) in face.items():
    offset = np.stack(np.broadcast_arrays(x, y, z), -1)  # (N, 3): left, up, forward
    joints[:, J[name]] = neck + _apply(head, offset)
  lowest = joints[:, [J["left_ankle"], J["right_ankle"]], 1].min(-1)
  return joints + np.outer(L["ankle_height"] - lowest, UP)[:, None]


def place(joints: np.ndarray, yaw, position) -> np.ndarray:
  """(N, 17, 3) body-frame joints turned by `yaw` (N,) degrees about the vertical
  and moved so each mid-hip is above `position` (N, 2: x, z) on the floor."""
  turned = np.einsum("nij,nkj->nki", rotation(UP, np.broadcast_to(yaw, len(joints))), joints)
  mid_hip = root(turned)
  position = np.broadcast_to(np.asarray(position, np.float64), (len(joints), 2))
  shift = np.stack(
    [position[:, 0] - mid_hip[:, 0], 0 * mid_hip[:, 1], position[:, 1] - mid_hip[:, 2]], -1
  )
  return turned + shift[:, None]


def sample_poses(
  rng: np.random.Generator, n: int, mode: str | None = None
) -> tuple[np.ndarray, Body]:
  """n people in the body frame: (n, 17, 3) mm and their Body."""
  bodies = sample_bodies(rng, n)
  return pose(bodies, sample_angles(rng, n, mode)), bodies
