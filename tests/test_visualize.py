"""Overlays: skeleton colours per side, and the full picture from a converted teacher."""

import numpy as np
from PIL import Image

from rtpe_jax import visualize
from rtpe_jax.data.synthetic import make_image


def test_joints_and_limbs_are_drawn_in_their_side_colours():
  image = np.zeros((200, 200, 3), np.uint8)
  person = np.zeros((1, 17, 3), np.float32)
  person[0, 5] = (60, 60, 1.0)  # left shoulder
  person[0, 7] = (60, 140, 1.0)  # left elbow
  person[0, 6] = (140, 60, 1.0)  # right shoulder
  person[0, 8] = (140, 140, 0.05)  # right elbow, below the threshold
  drawn = np.asarray(visualize.draw_people(image, person, threshold=0.1))
  assert tuple(drawn[100, 60]) == visualize.LEFT  # the left upper arm
  assert tuple(drawn[60, 100]) == visualize.CENTRE  # shoulder to shoulder
  assert tuple(drawn[60, 140]) == visualize.RIGHT  # the right shoulder joint
  assert not drawn[140, 140].any() and not drawn[100, 140].any()


def test_command_line_writes_the_picture(tiny_model_dir, tmp_path):
  image, _, _ = make_image(0, "val2017", 0, size=128)
  path = str(tmp_path / "image.jpg")
  image.save(path)
  out = str(tmp_path / "overlay.png")
  visualize.main(["--teacher", tiny_model_dir, "--image", path, "--out", out,
                  "--input-size", "128"])
  picture = Image.open(out)
  assert picture.height == 128 and picture.width > 3 * image.width
