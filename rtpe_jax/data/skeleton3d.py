"""3D people for the synthetic 3D data and the lifter: a skeleton with human
proportions, joint angles within human limits, poses from a mixture of modes.

A pose is (17, 3) in millimetres, COCO's joint order, in a body frame whose
axes are the person's left (x), up (y) and forward (z) (right-handed), with the
floor at y = 0 and the mid-hip above the origin. `place` turns it about the
vertical and stands it at a point of the floor.

Segment lengths are fractions of the body height (Drillis and Contini's
anthropometric table, rounded), each jittered per person.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from rtpe_jax import keypoints

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
  """One person's size: the height (mm) and the lengths of PROPORTIONS (mm)."""

  height: float
  lengths: dict


def sample_body(rng: np.random.Generator) -> Body:
  height = float(rng.uniform(*HEIGHT_MM))
  lengths = {
    k: float(height * v * rng.uniform(1 - JITTER, 1 + JITTER)) for k, v in PROPORTIONS.items()
  }
  return Body(height, lengths)


def _angles_of_mode(mode: str, rng: np.random.Generator) -> dict:
  """Joint angles (degrees) of one pose of `mode`, before the limits."""
  u = rng.uniform
  a = {"lean": u(-5, 10), "twist": u(-15, 15), "head_yaw": u(-45, 45), "head_pitch": u(-20, 20)}
  for side in SIDES:
    a[f"{side}_hip_flexion"] = u(-5, 10)
    a[f"{side}_hip_abduction"] = u(0, 10)
    a[f"{side}_knee_flexion"] = u(0, 15)
    a[f"{side}_shoulder_flexion"] = u(-10, 20)
    a[f"{side}_shoulder_abduction"] = u(0, 20)
    a[f"{side}_elbow_flexion"] = u(0, 30)
  lead, back = SIDES if rng.uniform() < 0.5 else SIDES[::-1]
  if mode == "walking":
    a[f"{lead}_hip_flexion"], a[f"{back}_hip_flexion"] = u(15, 35), u(-20, -5)
    a[f"{lead}_knee_flexion"], a[f"{back}_knee_flexion"] = u(0, 25), u(15, 60)
    a[f"{lead}_shoulder_flexion"], a[f"{back}_shoulder_flexion"] = u(-30, -5), u(10, 35)
    for side in SIDES:
      a[f"{side}_elbow_flexion"] = u(10, 50)
  elif mode == "reaching":
    both = rng.uniform() < 0.4
    for side in (lead, back) if both else (lead,):
      a[f"{side}_shoulder_flexion"] = u(50, 175)
      a[f"{side}_shoulder_abduction"] = u(0, 70)
      a[f"{side}_elbow_flexion"] = u(0, 50)
    a["lean"] = u(0, 25)
  elif mode in BENT_MODES:
    ranges = BENT_MODES[mode]
    a["lean"] = u(*ranges["lean"])
    for side in SIDES:
      for joint, (low, high) in ranges.items():
        if joint != "lean":
          a[f"{side}_{joint}"] = u(low, high)
  elif mode != "standing":
    raise ValueError(f"mode {mode!r}: use one of {MODES}")
  return a


def clip_to_limits(angles: dict) -> dict:
  """Each angle clipped to LIMITS (by its name without the side)."""
  out = {}
  for name, value in angles.items():
    low, high = LIMITS[name.split("_", 1)[1] if name.startswith(SIDES) else name]
    out[name] = float(np.clip(value, low, high))
  return out


def sample_angles(rng: np.random.Generator, mode: str | None = None, noise: float = 8.0) -> dict:
  """Joint angles (degrees): a mode (uniform over MODES unless given), its
  ranges, Gaussian noise of `noise` degrees on every angle, the limits."""
  mode = MODES[rng.integers(len(MODES))] if mode is None else mode
  angles = _angles_of_mode(mode, rng)
  return clip_to_limits({k: v + rng.normal(0, noise) for k, v in angles.items()})


def _rotation(axis: np.ndarray, degrees: float) -> np.ndarray:
  """(3, 3) rotation by `degrees` about `axis` (right hand)."""
  axis = np.asarray(axis, np.float64) / np.linalg.norm(axis)
  k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
  t = np.radians(degrees)
  return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * k @ k


LEFT, UP, FORWARD = np.eye(3)


def _limb(outward: np.ndarray, flexion: float, abduction: float) -> np.ndarray:
  """(3, 3): the rotation that takes a segment hanging down (-UP) to the limb's
  direction: abduction raises it sideways (towards `outward`), then flexion
  swings it forward."""
  # About FORWARD, positive turns -UP towards LEFT: the left side abducts with +.
  side = 1.0 if outward @ LEFT > 0 else -1.0
  abduct = _rotation(FORWARD, side * abduction)
  # About LEFT, a negative angle turns -UP towards FORWARD.
  return _rotation(LEFT, -flexion) @ abduct


def pose(body: Body, angles: dict) -> np.ndarray:
  """(17, 3) mm in the body frame (x left, y up, z forward), standing on y = 0
  (the lowest ankle at the ankle's height)."""
  L = body.lengths
  joints = np.zeros((keypoints.NUM_JOINTS, 3))
  down = -UP
  # About LEFT, a positive angle turns UP towards FORWARD: the trunk leans forward.
  trunk = _rotation(LEFT, angles["lean"]) @ _rotation(UP, angles["twist"])
  for side, sign in (("left", 1.0), ("right", -1.0)):
    outward = sign * LEFT
    hip = outward * L["hip_half_width"]
    thigh = _limb(outward, angles[f"{side}_hip_flexion"], angles[f"{side}_hip_abduction"])
    knee = hip + thigh @ down * L["thigh"]
    # The knee bends the shin backwards, about the thigh's own lateral axis.
    shin = _rotation(thigh @ LEFT, angles[f"{side}_knee_flexion"]) @ thigh
    ankle = knee + shin @ down * L["shin"]
    joints[J[f"{side}_hip"]], joints[J[f"{side}_knee"]] = hip, knee
    joints[J[f"{side}_ankle"]] = ankle
  neck = trunk @ UP * L["trunk"]
  for side, sign in (("left", 1.0), ("right", -1.0)):
    outward = sign * LEFT
    shoulder = neck + trunk @ outward * L["shoulder_half_width"]
    upper = trunk @ _limb(
      outward, angles[f"{side}_shoulder_flexion"], angles[f"{side}_shoulder_abduction"]
    )
    elbow = shoulder + upper @ down * L["upper_arm"]
    # The elbow bends the forearm forwards, about the upper arm's lateral axis.
    fore = _rotation(upper @ LEFT, -angles[f"{side}_elbow_flexion"]) @ upper
    wrist = elbow + fore @ down * L["forearm"]
    joints[J[f"{side}_shoulder"]], joints[J[f"{side}_elbow"]] = shoulder, elbow
    joints[J[f"{side}_wrist"]] = wrist
  head = trunk @ _rotation(UP, angles["head_yaw"]) @ _rotation(LEFT, angles["head_pitch"])
  face = {
    "nose": UP * L["neck_to_nose"] + FORWARD * L["nose_forward"],
    "left_eye": UP * (L["neck_to_nose"] + L["eye_up"])
    + LEFT * L["eye_half_width"]
    + FORWARD * L["eye_forward"],
    "right_eye": UP * (L["neck_to_nose"] + L["eye_up"])
    - LEFT * L["eye_half_width"]
    + FORWARD * L["eye_forward"],
    "left_ear": UP * (L["neck_to_nose"] + L["ear_up"]) + LEFT * L["ear_half_width"],
    "right_ear": UP * (L["neck_to_nose"] + L["ear_up"]) - LEFT * L["ear_half_width"],
  }
  for name, offset in face.items():
    joints[J[name]] = neck + head @ offset
  lowest = joints[[J["left_ankle"], J["right_ankle"]], 1].min()
  return joints + UP * (L["ankle_height"] - lowest)


def place(joints: np.ndarray, yaw: float, position: tuple[float, float]) -> np.ndarray:
  """(17, 3) body-frame joints turned by `yaw` degrees about the vertical and
  moved so the mid-hip is above `position` (x, z) on the floor."""
  turned = joints @ _rotation(UP, yaw).T
  mid_hip = turned[[J["left_hip"], J["right_hip"]]].mean(0)
  return turned + np.array([position[0] - mid_hip[0], 0.0, position[1] - mid_hip[2]])


def sample_pose(rng: np.random.Generator, mode: str | None = None) -> tuple[np.ndarray, Body]:
  """One person in the body frame: (17, 3) mm and its Body."""
  body = sample_body(rng)
  return pose(body, sample_angles(rng, mode)), body
