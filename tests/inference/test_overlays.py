"""Overlays: skeleton colours per side, and the full picture from a converted teacher."""

import numpy as np
from PIL import Image

from rtpe_jax import keypoints
from rtpe_jax.data.synthetic.scenes import make_image
from rtpe_jax.inference import overlays


def test_joints_and_limbs_are_drawn_in_their_side_colours():
  image = np.zeros((200, 200, 3), np.uint8)
  person = np.zeros((1, 17, 3), np.float32)
  person[0, 5] = (60, 60, 1.0)  # left shoulder
  person[0, 7] = (60, 140, 1.0)  # left elbow
  person[0, 6] = (140, 60, 1.0)  # right shoulder
  person[0, 8] = (140, 140, 0.05)  # right elbow, below the threshold
  drawn = np.asarray(overlays.draw_people(image, person, threshold=0.1))
  assert tuple(drawn[100, 60]) == keypoints.LEFT  # the left upper arm
  assert tuple(drawn[60, 100]) == keypoints.CENTRE  # shoulder to shoulder
  assert tuple(drawn[60, 140]) == keypoints.RIGHT  # the right shoulder joint
  assert not drawn[140, 140].any() and not drawn[100, 140].any()


def test_the_top_view_puts_people_at_their_place_on_the_floor():
  person = np.zeros((1, 17, 3))
  person[0, :, 2] = 5000.0  # 5 m ahead
  person[0, 5, 0], person[0, 7, 0] = -1000.0, -1000.0  # left shoulder and elbow: 1 m left
  person[0, 7, 2] = 6000.0  # the elbow 1 m further
  top = np.asarray(overlays.top_view(person, 200))
  assert top.shape == (200, 200, 3)
  # 50 mm a pixel, the camera at the bottom centre: x = 100 - 20, z from 199 - 100 to - 120
  assert tuple(top[89, 80]) == keypoints.LEFT
  assert not (top[89, 120] == keypoints.LEFT).all()
  side = overlays.with_top_view(
    overlays.draw_people(np.zeros((200, 300, 3), np.uint8), person),
    overlays.top_view(person, 200),
  )
  assert side.size == (500, 200)


def test_command_line_writes_the_picture(tiny_model_dir, tmp_path):
  image, _, _ = make_image(0, "val2017", 0, size=128)
  path = str(tmp_path / "image.jpg")
  image.save(path)
  out = str(tmp_path / "overlay.png")
  overlays.main(["--teacher", tiny_model_dir, "--image", path, "--out", out, "--input-size", "128"])
  picture = Image.open(out)
  assert picture.height == 128 and picture.width > 3 * image.width


def test_people_below_the_score_threshold_are_not_drawn():
  image = np.zeros((100, 100, 3), np.uint8)
  people = np.zeros((2, 17, 3), np.float32)
  people[0, 5], people[0, 7] = (30, 20, 0.9), (30, 80, 0.9)  # a left upper arm
  people[1, 6], people[1, 8] = (70, 20, 0.9), (70, 80, 0.9)  # a right upper arm
  drawn = np.asarray(overlays.draw_people(image, people, 0.1, np.array([0.5, 0.1]), 0.2))
  assert tuple(drawn[50, 30]) == keypoints.LEFT
  assert not drawn[50, 70].any()
  both = np.asarray(overlays.draw_people(image, people, 0.1, np.array([0.5, 0.1]), 0.05))
  assert tuple(both[50, 70]) == keypoints.RIGHT


def test_evaluation_overlay_shows_the_ground_truth_beside(tiny_model_dir):
  from rtpe_jax.inference import predictor

  model = predictor.load(tiny_model_dir, fold=False, input_size=128)
  image = np.zeros((128, 128, 3), np.uint8)
  truth = np.zeros((1, 17, 3), np.float32)
  truth[0, 11], truth[0, 13] = (20, 30, 2), (20, 100, 2)  # a left thigh
  alone = overlays.overlay_with_maps(model, image, min_score=1e9)
  both = overlays.overlay_with_maps(model, image, min_score=1e9, truth=truth)
  assert both.width == alone.width + 128 + 8
  panel = np.asarray(both)[:, 128 + 8 : 2 * 128 + 8]
  assert tuple(panel[65, 20]) == keypoints.LEFT
  assert not np.asarray(alone)[20:, :128].any()  # no one scores 1e9: an empty overlay
