"""Reading image files, with errors that name the file (no TensorFlow needed)."""

from __future__ import annotations

import numpy as np
from PIL import Image


class ImageError(ValueError):
  """An image file that is missing or does not decode."""


def read_image(path: str, image_id: int) -> np.ndarray:
  """(H, W, 3) uint8 RGB, or ImageError naming the file and the image id."""
  try:
    with Image.open(path) as image:
      return np.asarray(image.convert("RGB"))
  except FileNotFoundError:
    raise ImageError(f"{path}: image {image_id} is missing") from None
  except (OSError, SyntaxError, ValueError) as err:
    raise ImageError(f"{path}: image {image_id} does not decode ({err})") from None
