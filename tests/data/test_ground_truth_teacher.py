"""Teacher-like maps made from ground truth: peaks on the joints, each person's tag."""

import numpy as np

from rtpe_jax import coordinates
from rtpe_jax.data import ground_truth_teacher, teacher_store


def test_the_stand_in_peaks_on_each_joint_with_its_persons_tag():
  joints = np.zeros((2, 17, 3))
  # map position (x - 0.5) / s: the centre of map pixel (row, col) is position col + 0.5
  joints[0, 0] = (21.5, 13.5, 2)  # at stride 2: pixel (6, 10); at stride 4: (3, 5)
  joints[1, 5] = (41.5, 33.5, 2)  # at stride 2: pixel (16, 20); at stride 4: (8, 10)
  p = ground_truth_teacher.ground_truth_stand_in(joints, (64, 96))
  assert p.heatmaps.shape == (32, 48, 17) and p.tags.shape == (16, 24, 17)
  assert np.unravel_index(p.heatmaps[..., 0].argmax(), (32, 48)) == (6, 10)
  assert np.unravel_index(p.heatmaps[..., 5].argmax(), (32, 48)) == (16, 20)
  assert p.heatmaps[6, 10, 0] == 1.0 and p.tags[8, 10, 5] == 2.0 and p.tags[3, 5, 0] == 1.0
  # the stored affine sends a peak's map position back to the joint's image position
  np.testing.assert_allclose(coordinates.apply(p.affine, [[10.5, 6.5]]), [[21.5, 13.5]])


def test_a_store_of_stand_ins_for_a_split(synthetic_root, tmp_path):
  out = ground_truth_teacher.write_stand_in_store(synthetic_root, ("val2017",), str(tmp_path / "t"))
  store = teacher_store.TeacherStore(out)
  assert len(store) == 8 and ground_truth_teacher.store_bytes(out) > 0
