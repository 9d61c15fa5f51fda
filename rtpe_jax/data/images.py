"""Reading image files, with errors that name the file (no TensorFlow needed)."""

from __future__ import annotations

import os

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


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def folder_images(folder: str) -> list[tuple[int, str]]:
  """(image id, path) of a folder's images in name order: ids from numeric file
  names (COCO's), else the position in that order."""
  if not os.path.isdir(folder):
    raise FileNotFoundError(f"{folder}: no such folder of images")
  names = sorted(n for n in os.listdir(folder) if n.lower().endswith(IMAGE_SUFFIXES))
  out = []
  for n, name in enumerate(names):
    stem = os.path.splitext(name)[0]
    out.append((int(stem) if stem.isdigit() else n, os.path.join(folder, name)))
  return out
