"""The trainer's evaluation: the person segmentation's IoU through the protocol's
resize and back, for a perfect segmentation and a misplaced one."""

import numpy as np
from conftest import QUICKSTART_STUDENT, tiny_train_config

from rtpe_jax import coordinates
from rtpe_jax.data import coco
from rtpe_jax.inference import protocol
from rtpe_jax.models import student
from rtpe_jax.train.minival import Evaluator


def _perfect_map(ann, input_size: int, shift: int = 0) -> np.ndarray:
  """The person probability a perfect network gives at stride 4 of the protocol's
  input: the image's person mask carried into the resized input, averaged over
  4 x 4 cells (and moved `shift` cells right)."""
  size, center, scale = protocol.scale_size(ann.height, ann.width, input_size, 1.0, 1.0)
  mask = ann.person_mask.astype(np.float32)
  resized = coordinates.warp(mask, protocol.resize_affine(center, scale, size), (size[1], size[0]))
  cells = resized.reshape(size[1] // 4, 4, size[0] // 4, 4).mean((1, 3))
  return np.roll(cells, shift, axis=1)


def test_segmentation_of_a_perfect_map_and_of_a_misplaced_one(synthetic_root):
  config = tiny_train_config(synthetic_root)
  config.model.student.update(QUICKSTART_STUDENT)
  config.eval.metrics = ("segmentation",)
  config.eval.input_size = 256
  config.eval.max_images = 1
  module = student.AttentionStudent(config=student.StudentConfig(**config.model.student))
  assert Evaluator(module, config).segmentation_threshold == 7 / 8  # positive weight 7
  config.loss.segmentation_pos_weight = 1.0  # the perfect map is a probability: read at 0.5
  evaluator = Evaluator(module, config)
  assert evaluator.best_metric == "segmentation_iou" and evaluator.segmentation_threshold == 0.5
  ann = coco.image_annotations(
    evaluator.ground_truth, synthetic_root, "val2017", evaluator.image_ids[0]
  )
  assert ann.person_mask.sum() > 500
  evaluator.segmentation_network = lambda variables, images: variables["map"][None]
  perfect = evaluator({"map": _perfect_map(ann, 256)})
  assert set(perfect) == {"segmentation_iou", "segmentation_precision", "segmentation_recall"}
  # Measured 0.974 (the 4 x 4 cells blur the edges); one cell (4 px) off: 0.719.
  assert perfect["segmentation_iou"] >= 0.95, perfect
  moved = evaluator({"map": _perfect_map(ann, 256, shift=1)})
  assert moved["segmentation_iou"] <= perfect["segmentation_iou"] - 0.2, (moved, perfect)


def test_an_id_list_the_annotations_lack_is_named_with_its_file_and_key(synthetic_root):
  """The COCO minival list against the synthetic val split: none of its 500 ids is
  there, and the error names the list, the key that set it and the annotations."""
  import pytest

  from configs import distill_coco_w48

  config = tiny_train_config(synthetic_root)
  config.data.eval_ids = distill_coco_w48.MINIVAL
  module = student.AttentionStudent(config=student.StudentConfig(**config.model.student))
  with pytest.raises(ValueError) as err:
    Evaluator(module, config)
  annotations = coco.annotation_file(synthetic_root, "val2017")
  first = sorted(coco.read_id_list(distill_coco_w48.MINIVAL))[:5]
  assert str(err.value) == (
    f"{distill_coco_w48.MINIVAL} (config.data.eval_ids): 500 listed image ids are not in the "
    f"annotations {annotations}, e.g. {first}"
  )
