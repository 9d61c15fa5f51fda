"""3D people (rtpe_jax/threed/skeleton3d.py): lengths kept, angles within limits,
the signs of every joint's flexion, feet on the floor."""

import numpy as np
import pytest

from rtpe_jax import keypoints
from rtpe_jax.threed import skeleton3d

J = skeleton3d.J
BONES = {
  "thigh": ("hip", "knee"),
  "shin": ("knee", "ankle"),
  "upper_arm": ("shoulder", "elbow"),
  "forearm": ("elbow", "wrist"),
}


def neutral(**changes) -> dict:
  """One person's angles (each (1,)): all 0 but `changes`."""
  names = ["lean", "twist", "head_yaw", "head_pitch"]
  for side in skeleton3d.SIDES:
    names += [f"{side}_{n}_flexion" for n in ("hip", "knee", "shoulder", "elbow")]
    names += [f"{side}_hip_abduction", f"{side}_shoulder_abduction"]
  return {n: np.array([float(changes.get(n, 0.0))]) for n in names}


def body() -> skeleton3d.Body:
  lengths = {k: np.array([1700.0 * v]) for k, v in skeleton3d.PROPORTIONS.items()}
  return skeleton3d.Body(np.array([1700.0]), lengths)


def pose(**changes) -> np.ndarray:
  """(17, 3): the 1.7-m body in the neutral pose but `changes`."""
  return skeleton3d.pose(body(), neutral(**changes))[0]


def lengths(joints, a, b):
  return np.linalg.norm(joints[..., J[a], :] - joints[..., J[b], :], axis=-1)


@pytest.mark.parametrize("mode", skeleton3d.MODES)
def test_every_mode_keeps_the_lengths_the_limits_and_the_floor(mode):
  rng = np.random.default_rng(0)
  people = skeleton3d.sample_bodies(rng, 200)
  angles = skeleton3d.sample_angles(rng, 200, mode)
  joints = skeleton3d.pose(people, angles)
  L = people.lengths
  for bone, (a, b) in BONES.items():
    for side in skeleton3d.SIDES:
      np.testing.assert_allclose(lengths(joints, f"{side}_{a}", f"{side}_{b}"), L[bone])
  np.testing.assert_allclose(lengths(joints, "left_hip", "right_hip"), 2 * L["hip_half_width"])
  np.testing.assert_allclose(
    lengths(joints, "left_shoulder", "right_shoulder"), 2 * L["shoulder_half_width"]
  )
  ankles = joints[:, [J["left_ankle"], J["right_ankle"]], 1]
  np.testing.assert_allclose(ankles.min(-1), L["ankle_height"])
  for name, values in angles.items():
    for value in values:
      low, high = skeleton3d.LIMITS[
        name.split("_", 1)[1] if name.startswith(("left", "right")) else name
      ]
      assert low <= value <= high, (name, value)


def test_uniform_angles_fill_the_limits_that_the_modes_leave_empty():
  rng = np.random.default_rng(1)
  uniform = skeleton3d.sample_uniform_angles(rng, 2000)
  modes = skeleton3d.sample_angles(rng, 2000)
  assert uniform.keys() == modes.keys()
  for name, values in uniform.items():
    low, high = skeleton3d.LIMITS[name.removeprefix("left_").removeprefix("right_")]
    assert low <= values.min() and values.max() <= high
    assert np.quantile(values, 0.9) - np.quantile(values, 0.1) > 0.7 * (high - low)
  # one knee raised high while the other leg stands: no mode makes that
  raised = np.abs(uniform["left_hip_flexion"] - uniform["right_hip_flexion"]) > 90
  assert raised.mean() > 0.1
  assert (np.abs(modes["left_hip_flexion"] - modes["right_hip_flexion"]) > 90).mean() < 0.01


def test_the_neutral_pose_stands_upright_facing_forward():
  L = {k: float(v[0]) for k, v in body().lengths.items()}
  joints = pose()
  hip_height = L["ankle_height"] + L["thigh"] + L["shin"]
  np.testing.assert_allclose(joints[[J["left_hip"], J["right_hip"]], 1], hip_height)
  np.testing.assert_allclose(
    joints[J["nose"]], [0.0, hip_height + L["trunk"] + L["neck_to_nose"], L["nose_forward"]]
  )
  for name in keypoints.NAMES:  # the person's left is +x, the right its mirror image
    if name.startswith("left"):
      other = joints[J[name.replace("left", "right")]]
      assert joints[J[name], 0] > 0 > other[0]
      np.testing.assert_allclose(joints[J[name]] * [-1, 1, 1], other, atol=1e-9)


def test_flexions_bend_the_way_a_body_bends():
  L = {k: float(v[0]) for k, v in body().lengths.items()}

  def segment(joints, a, b):
    return joints[J[b]] - joints[J[a]]

  sitting = pose(left_hip_flexion=90.0, left_knee_flexion=90.0)
  # The thigh points forward, the shin straight down from the knee.
  np.testing.assert_allclose(
    segment(sitting, "left_hip", "left_knee"), [0, 0, L["thigh"]], atol=1e-9
  )
  np.testing.assert_allclose(
    segment(sitting, "left_knee", "left_ankle"), [0, -L["shin"], 0], atol=1e-9
  )
  heel_back = pose(right_knee_flexion=90.0)
  assert segment(heel_back, "right_knee", "right_ankle")[2] == pytest.approx(-L["shin"])
  forearm_up = pose(left_elbow_flexion=90.0)
  assert segment(forearm_up, "left_elbow", "left_wrist")[2] == pytest.approx(L["forearm"])
  sideways = pose(left_shoulder_abduction=90.0, right_shoulder_abduction=90.0)
  assert segment(sideways, "left_shoulder", "left_elbow")[0] == pytest.approx(L["upper_arm"])
  assert segment(sideways, "right_shoulder", "right_elbow")[0] == pytest.approx(-L["upper_arm"])
  upright = pose()
  assert pose(lean=30.0)[J["nose"], 2] > upright[J["nose"], 2] + 100
  assert pose(head_pitch=30.0)[J["nose"], 1] < upright[J["nose"], 1]


def test_modes_differ_and_sampling_is_deterministic():
  def mean_hip_height(mode):
    joints, _ = skeleton3d.sample_poses(np.random.default_rng(1), 100, mode)
    return joints[:, J["left_hip"], 1].mean()

  standing, sitting, crouching = map(mean_hip_height, ("standing", "sitting", "crouching"))
  assert crouching < sitting < 0.8 * standing
  a, _ = skeleton3d.sample_poses(np.random.default_rng(5), 10)
  np.testing.assert_array_equal(a, skeleton3d.sample_poses(np.random.default_rng(5), 10)[0])
  with pytest.raises(ValueError, match="mode 'flying'"):
    skeleton3d.sample_angles(np.random.default_rng(0), 3, "flying")


def test_place_turns_about_the_vertical_and_stands_at_the_point():
  joints = pose()[None]
  placed = skeleton3d.place(joints, [90.0], [(1000.0, 4000.0)])
  mid_hip = placed[0, [J["left_hip"], J["right_hip"]]].mean(0)
  np.testing.assert_allclose(mid_hip[[0, 2]], [1000.0, 4000.0], atol=1e-9)
  np.testing.assert_allclose(placed[..., 1], joints[..., 1], atol=1e-9)

  def distances(x):
    return np.linalg.norm(x[0, :, None] - x[0, None], axis=-1)

  np.testing.assert_allclose(distances(placed), distances(joints), atol=1e-9)
  # Turned by 90 degrees about the vertical, the person faces +x.
  nose_forward = float(body().lengths["nose_forward"][0])
  assert placed[0, J["nose"], 0] - mid_hip[0] == pytest.approx(nose_forward)
