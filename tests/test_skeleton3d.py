"""3D people (rtpe_jax/data/skeleton3d.py): lengths kept, angles within limits,
the signs of every joint's flexion, feet on the floor."""

import numpy as np
import pytest

from rtpe_jax import keypoints
from rtpe_jax.data import skeleton3d

J = skeleton3d.J
BONES = {
  "thigh": ("hip", "knee"),
  "shin": ("knee", "ankle"),
  "upper_arm": ("shoulder", "elbow"),
  "forearm": ("elbow", "wrist"),
}


def neutral() -> dict:
  angles = {k: 0.0 for k in ("lean", "twist", "head_yaw", "head_pitch")}
  for side in skeleton3d.SIDES:
    for name in ("hip", "knee", "shoulder", "elbow"):
      angles[f"{side}_{name}_flexion"] = 0.0
    angles[f"{side}_hip_abduction"] = angles[f"{side}_shoulder_abduction"] = 0.0
  return angles


def body() -> skeleton3d.Body:
  return skeleton3d.Body(1700.0, {k: 1700.0 * v for k, v in skeleton3d.PROPORTIONS.items()})


def length(joints, a, b):
  return float(np.linalg.norm(joints[J[a]] - joints[J[b]]))


@pytest.mark.parametrize("mode", skeleton3d.MODES)
def test_every_mode_keeps_the_lengths_the_limits_and_the_floor(mode):
  rng = np.random.default_rng(0)
  for _ in range(50):
    person = skeleton3d.sample_body(rng)
    angles = skeleton3d.sample_angles(rng, mode)
    joints = skeleton3d.pose(person, angles)
    for bone, (a, b) in BONES.items():
      for side in skeleton3d.SIDES:
        assert length(joints, f"{side}_{a}", f"{side}_{b}") == pytest.approx(person.lengths[bone])
    assert length(joints, "left_hip", "right_hip") == pytest.approx(
      2 * person.lengths["hip_half_width"]
    )
    assert length(joints, "left_shoulder", "right_shoulder") == pytest.approx(
      2 * person.lengths["shoulder_half_width"]
    )
    ankles = joints[[J["left_ankle"], J["right_ankle"]], 1]
    assert ankles.min() == pytest.approx(person.lengths["ankle_height"])
    for name, value in angles.items():
      low, high = skeleton3d.LIMITS[
        name.split("_", 1)[1] if name.startswith(("left", "right")) else name
      ]
      assert low <= value <= high, (name, value)


def test_the_neutral_pose_stands_upright_facing_forward():
  b, joints = body(), skeleton3d.pose(body(), neutral())
  L = b.lengths
  hip_height = L["ankle_height"] + L["thigh"] + L["shin"]
  np.testing.assert_allclose(joints[[J["left_hip"], J["right_hip"]], 1], hip_height)
  np.testing.assert_allclose(
    joints[J["nose"]], [0.0, hip_height + L["trunk"] + L["neck_to_nose"], L["nose_forward"]]
  )
  for name in keypoints.NAMES:  # the person's left is +x
    if name.startswith("left"):
      assert joints[J[name], 0] > 0 and joints[J[name.replace("left", "right")], 0] < 0
  # The mirror image of the left side is the right side.
  for name in keypoints.NAMES:
    if name.startswith("left"):
      other = joints[J[name.replace("left", "right")]]
      np.testing.assert_allclose(joints[J[name]] * [-1, 1, 1], other, atol=1e-9)


def test_flexions_bend_the_way_a_body_bends():
  L = body().lengths
  sitting = neutral() | {"left_hip_flexion": 90.0, "left_knee_flexion": 90.0}
  joints = skeleton3d.pose(body(), sitting)
  # The thigh points forward, the shin straight down from the knee.
  np.testing.assert_allclose(
    joints[J["left_knee"]] - joints[J["left_hip"]], [0, 0, L["thigh"]], atol=1e-9
  )
  np.testing.assert_allclose(
    joints[J["left_ankle"]] - joints[J["left_knee"]], [0, -L["shin"], 0], atol=1e-9
  )
  kneeling_back = neutral() | {"right_knee_flexion": 90.0}
  joints = skeleton3d.pose(body(), kneeling_back)
  assert (joints[J["right_ankle"]] - joints[J["right_knee"]])[2] == pytest.approx(-L["shin"])
  forearm_up = neutral() | {"left_elbow_flexion": 90.0}
  joints = skeleton3d.pose(body(), forearm_up)
  assert (joints[J["left_wrist"]] - joints[J["left_elbow"]])[2] == pytest.approx(L["forearm"])
  arm_sideways = neutral() | {"left_shoulder_abduction": 90.0, "right_shoulder_abduction": 90.0}
  joints = skeleton3d.pose(body(), arm_sideways)
  assert (joints[J["left_elbow"]] - joints[J["left_shoulder"]])[0] == pytest.approx(L["upper_arm"])
  assert (joints[J["right_elbow"]] - joints[J["right_shoulder"]])[0] == pytest.approx(
    -L["upper_arm"]
  )
  upright, leaning = (
    skeleton3d.pose(body(), neutral()),
    skeleton3d.pose(body(), neutral() | {"lean": 30.0}),
  )
  assert leaning[J["nose"], 2] > upright[J["nose"], 2] + 100
  nodding = skeleton3d.pose(body(), neutral() | {"head_pitch": 30.0})
  assert nodding[J["nose"], 1] < upright[J["nose"], 1]


def test_modes_differ_and_sampling_is_deterministic():
  def mean_hip_height(mode):
    rng = np.random.default_rng(1)
    return np.mean([skeleton3d.sample_pose(rng, mode)[0][J["left_hip"], 1] for _ in range(30)])

  standing, sitting, crouching = map(mean_hip_height, ("standing", "sitting", "crouching"))
  assert crouching < sitting < 0.8 * standing
  a = skeleton3d.sample_pose(np.random.default_rng(5))[0]
  np.testing.assert_array_equal(a, skeleton3d.sample_pose(np.random.default_rng(5))[0])
  with pytest.raises(ValueError, match="mode 'flying'"):
    skeleton3d.sample_angles(np.random.default_rng(0), "flying")


def test_place_turns_about_the_vertical_and_stands_at_the_point():
  joints = skeleton3d.pose(body(), neutral())
  placed = skeleton3d.place(joints, 90.0, (1000.0, 4000.0))
  mid_hip = placed[[J["left_hip"], J["right_hip"]]].mean(0)
  np.testing.assert_allclose(mid_hip[[0, 2]], [1000.0, 4000.0], atol=1e-9)
  np.testing.assert_allclose(placed[:, 1], joints[:, 1], atol=1e-9)
  np.testing.assert_allclose(
    np.linalg.norm(placed[:, None] - placed[None], axis=-1),
    np.linalg.norm(joints[:, None] - joints[None], axis=-1),
    atol=1e-9,
  )
  # Turned by 90 degrees about the vertical, the person faces +x.
  assert placed[J["nose"], 0] - mid_hip[0] == pytest.approx(body().lengths["nose_forward"])
