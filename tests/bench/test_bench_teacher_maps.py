import json

import numpy as np

from bench import teacher_maps
from rtpe_jax import coordinates
from rtpe_jax.data import targets
from rtpe_jax.data import teacher_store as ts

STRIDE = 2
MAP_HW = (40, 48)


def cell_centred_joints(x0: float, y0: float, step: float) -> np.ndarray:
  """(17, 3) image positions whose peaks fall on map-cell centres at STRIDE."""
  cells = np.stack([x0 + step * (np.arange(17) % 5), y0 + step * (np.arange(17) // 5)], -1)
  return np.concatenate([STRIDE * (cells + 0.5) + 0.5, np.full((17, 1), 2.0)], -1)


def rendered(people: list[np.ndarray], scales: list[float]) -> np.ndarray:
  """(H, W, 17): the ground truth's Gaussians of each person, times its scale."""
  maps = [
    scale * targets.gaussian_heatmaps(joints[None], MAP_HW, STRIDE, [2.0])[0]
    for joints, scale in zip(people, scales)
  ]
  return np.max(maps, axis=0)


def test_a_target_peaks_at_one_on_its_joints_and_a_shifted_one_a_cell_off():
  joints = cell_centred_joints(10, 8, 4)
  maps = rendered([joints], [1.0])
  affine = coordinates.from_map(STRIDE)[:2]
  peaks, offsets, which = teacher_maps.joint_peaks(maps, affine, joints)
  assert list(which) == list(range(17))
  np.testing.assert_allclose(peaks, 1.0, atol=1e-6)
  np.testing.assert_allclose(offsets, 0.0, atol=1e-6)
  peaks, offsets, _ = teacher_maps.joint_peaks(np.roll(maps, 1, axis=1), affine, joints)
  np.testing.assert_allclose(offsets, [[1.0, 0.0]] * 17, atol=1e-6)
  hidden = joints.copy()
  hidden[3, 2] = 0
  hidden[4, :2] = 0.5  # a window that leaves the map
  assert 3 not in teacher_maps.joint_peaks(maps, affine, hidden)[2]
  assert 4 not in teacher_maps.joint_peaks(maps, affine, hidden)[2]


def test_the_table_splits_a_store_by_figure_size(tmp_path):
  small, large = cell_centred_joints(4, 4, 1), cell_centred_joints(20, 12, 5)
  maps = rendered([small, large], [1.0, 0.5])
  tags = np.zeros((20, 24, 17), np.float32)
  with ts.TeacherStoreWriter(str(tmp_path / "store"), 17, 17) as writer:
    writer.add(7, ts.TeacherPrediction(maps, tags, coordinates.from_map(STRIDE)[:2]))

  def annotation(i, joints, area):
    keypoints = coordinates.to_coco_keypoints(joints).round(3).reshape(-1).tolist()
    return dict(
      id=i, image_id=7, category_id=1, iscrowd=0, area=area, num_keypoints=17,
      keypoints=keypoints, bbox=[0, 0, 10, 10],
    )  # fmt: skip

  path = tmp_path / "person_keypoints_x.json"
  path.write_text(
    json.dumps(
      dict(
        images=[dict(id=7, file_name="7.jpg", width=96, height=80)],
        annotations=[annotation(1, small, 20.0**2), annotation(2, large, 100.0**2)],
        categories=[dict(id=1, name="person")],
      )
    )
  )
  table = teacher_maps.main(
    ["--store", str(tmp_path / "store"), "--annotations", str(path), "--low", "0.6"]
  )
  assert sorted(table) == ["large", "small"]
  assert table["small"]["joints"] == table["large"]["joints"] == 17
  step = 1.0 / 255  # the store's uint8 quantisation
  assert abs(table["small"]["median_peak"] - 1.0) <= step
  assert abs(table["large"]["median_peak"] - 0.5) <= step
  assert table["small"]["below_low"] == 0.0 and table["large"]["below_low"] == 1.0
  np.testing.assert_allclose(table["small"]["mean_offset"], 0.0, atol=0.01)
