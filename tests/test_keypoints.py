"""COCO's keypoint set: the mirror's swap, the skeleton, the category, the colours."""

from rtpe_jax import keypoints


def test_the_flip_swaps_left_and_right_names_and_is_its_own_inverse():
  names = keypoints.NAMES
  assert len(names) == len(keypoints.FLIP_INDEX) == keypoints.NUM_JOINTS == 17
  for k, j in enumerate(keypoints.FLIP_INDEX):
    assert names[j] == names[k].replace("left", "#").replace("right", "left").replace("#", "right")
    assert keypoints.FLIP_INDEX[j] == k


def test_the_skeleton_is_cocos_and_sides_keep_their_colour():
  assert keypoints.CATEGORY["keypoints"] == list(keypoints.NAMES)
  assert len(keypoints.SKELETON) == 19 and {j for limb in keypoints.SKELETON for j in limb} == set(
    range(1, 18)
  )
  left, right = keypoints.NAMES.index("left_wrist"), keypoints.NAMES.index("right_wrist")
  assert (
    keypoints.joint_colour(left) == keypoints.LEFT
    and keypoints.joint_colour(right) == keypoints.RIGHT
  )
  assert keypoints.joint_colour(0) == keypoints.CENTRE
  assert (
    keypoints.limb_colour(5, 7) == keypoints.LEFT
    and keypoints.limb_colour(5, 6) == keypoints.CENTRE
  )
