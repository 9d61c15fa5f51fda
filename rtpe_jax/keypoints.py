"""COCO's 17 person keypoints: names, the left/right swap of a mirror, the
skeleton, the annotation file's category, and the colours every picture uses
(the person's left blue, right orange, the nose and cross-body limbs green)."""

NUM_JOINTS = 17
NAMES = (
  "nose",
  "left_eye",
  "right_eye",
  "left_ear",
  "right_ear",
  "left_shoulder",
  "right_shoulder",
  "left_elbow",
  "right_elbow",
  "left_wrist",
  "right_wrist",
  "left_hip",
  "right_hip",
  "left_knee",
  "right_knee",
  "left_ankle",
  "right_ankle",
)
# COCO's left/right swap of the joints (horizontal flip).
FLIP_INDEX = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)
# COCO's skeleton, 1-based joint indices as in the annotation files.
SKELETON = (
  (16, 14),
  (14, 12),
  (17, 15),
  (15, 13),
  (12, 13),
  (6, 12),
  (7, 13),
  (6, 7),
  (6, 8),
  (7, 9),
  (8, 10),
  (9, 11),
  (2, 3),
  (1, 2),
  (1, 3),
  (2, 4),
  (3, 5),
  (4, 6),
  (5, 7),
)
CATEGORY = {
  "id": 1,
  "name": "person",
  "supercategory": "person",
  "keypoints": list(NAMES),
  "skeleton": [list(s) for s in SKELETON],
}

LEFT, RIGHT, CENTRE = (40, 110, 255), (255, 140, 0), (30, 200, 80)


def joint_colour(k: int) -> tuple[int, int, int]:
  """Joint k's side colour: the nose CENTRE, odd (left) joints LEFT, even RIGHT."""
  return CENTRE if k == 0 else (LEFT if k % 2 == 1 else RIGHT)


def limb_colour(a: int, b: int) -> tuple[int, int, int]:
  """A limb between two joints (0-based) of one side takes that side's colour, else CENTRE."""
  return joint_colour(a) if joint_colour(a) == joint_colour(b) else CENTRE
