"""Image files: RGB out of any mode, and errors that name the file and the image."""

import numpy as np
import pytest
from PIL import Image

from rtpe_jax.data import images


def test_greyscale_becomes_rgb_and_bad_files_are_named(tmp_path):
  grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
  Image.fromarray(grey).save(tmp_path / "000000000007.png")
  rgb = images.read_image(str(tmp_path / "000000000007.png"), 7)
  assert rgb.shape == (3, 4, 3) and (rgb == grey[..., None]).all()
  (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
  with pytest.raises(images.ImageError, match="broken.jpg: image 3 does not decode"):
    images.read_image(str(tmp_path / "broken.jpg"), 3)
  with pytest.raises(images.ImageError, match="gone.jpg: image 4 is missing"):
    images.read_image(str(tmp_path / "gone.jpg"), 4)


def test_a_folders_images_take_their_ids_from_numeric_names(tmp_path):
  for name in ("000000000012.jpg", "b.png", "a.JPG", "notes.txt"):
    (tmp_path / name).write_bytes(b"")
  assert images.folder_images(str(tmp_path)) == [
    (12, str(tmp_path / "000000000012.jpg")),
    (1, str(tmp_path / "a.JPG")),
    (2, str(tmp_path / "b.png")),
  ]
  with pytest.raises(FileNotFoundError, match="no such folder of images"):
    images.folder_images(str(tmp_path / "none"))
