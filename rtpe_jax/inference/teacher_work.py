"""The teacher run's bookkeeping, apart from its loop (`teacher_run.run`): what
there is to do (a COCO split's images or a folder's), this shard's share of it,
what an earlier run already did (resume), and the files a run leaves:

  OUT/teacher/                 the teacher-prediction store (`data.teacher_store`)
  OUT/results-shard{i}of{n}.jsonl  with `evaluate`: each image's people, one line an image
  OUT/failures.txt             images that did not decode: id, path, error
  OUT/results.json, ap.json    `evaluate_results`: every shard's people and their AP
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os

from PIL import Image

from rtpe_jax.data import coco, images
from rtpe_jax.data import teacher_store as ts
from rtpe_jax.inference import coco_metrics


@dataclasses.dataclass
class WorkItem:
  image_id: int
  path: str
  width: int
  height: int


def coco_work(
  root: str, split: str, image_ids=None, listed_in: str = ""
) -> tuple[list[WorkItem], coco.COCO]:
  """A split's images (those of `image_ids` if given, from `listed_in`) and its index."""
  index = coco.load_coco(root, split)
  ids = coco.select_image_ids(
    index, whitelist=image_ids, listed_in=listed_in, annotations=coco.annotation_file(root, split)
  )
  items = [
    WorkItem(i, coco.image_path(root, split, info["file_name"]), info["width"], info["height"])
    for i, info in zip(ids, index.loadImgs(ids))
  ]
  return items, index


def folder_work(folder: str) -> list[WorkItem]:
  """Images of a folder (`images.folder_images`: ids from numeric file names)."""
  items = []
  for image_id, path in images.folder_images(folder):
    try:
      with Image.open(path) as image:
        w, h = image.size
    except OSError:
      w = h = 0  # read (and reported) later
    items.append(WorkItem(image_id, path, w, h))
  return items


def parse_shard(text: str) -> tuple[int, int]:
  try:
    i, n = (int(v) for v in text.split("/"))
  except ValueError:
    raise ValueError(f"--shard {text!r}: expected i/n, e.g. 0/4") from None
  if not 0 <= i < n:
    raise ValueError(f"--shard {text!r}: need 0 <= i < n")
  return i, n


class RunFiles:
  """The files of one shard's run in OUT, opened for appending: the store, and
  with `evaluate` the results file; `todo` leaves out what they already hold."""

  def __init__(self, out: str, shard: tuple[int, int], joints: int, tag_maps: int, evaluate: bool):
    i, n = shard
    os.makedirs(out, exist_ok=True)
    self.store = ts.TeacherStoreWriter(
      os.path.join(out, "teacher"), joints, tag_maps, writer=f"shard{i}of{n}"
    )
    results_path = os.path.join(out, f"results-shard{i}of{n}.jsonl")
    self.evaluate = evaluate
    self.results = ts.read_people_file(results_path) if evaluate else {}
    self._failures = open(os.path.join(out, "failures.txt"), "a")
    self._results = open(results_path, "a") if evaluate else None

  def todo(self, items: list[WorkItem]) -> list[WorkItem]:
    """The items whose store entry (or, evaluating, whose results) is missing."""
    return [
      it
      for it in items
      if it.image_id not in self.store or (self.evaluate and it.image_id not in self.results)
    ]

  def failed(self, item: WorkItem, error: Exception) -> None:
    logging.warning("skipped: %s", error)
    self._failures.write(f"{item.image_id}\t{item.path}\t{error}\n")
    self._failures.flush()

  def add_people(self, image_id: int, people: list[dict]) -> None:
    """One image's COCO results, appended as a line of the results file."""
    self._results.write(json.dumps({"image_id": image_id, "people": people}) + "\n")
    self.results[image_id] = people

  def close(self) -> None:
    self.store.close()
    self._failures.close()
    if self._results:
      self._results.close()


def collect_results(out: str) -> list[dict]:
  """Every shard's results in OUT, one entry per image (the last one written)."""
  merged = ts.read_people(out)
  return [person for image_id in sorted(merged) for person in merged[image_id]]


def evaluate_results(ground_truth, out: str, image_ids) -> dict:
  """Writes OUT/results.json and OUT/ap.json for `image_ids`; returns the numbers."""
  results = [r for r in collect_results(out) if r["image_id"] in set(image_ids)]
  with open(os.path.join(out, "results.json"), "w") as f:
    json.dump(results, f)
  stats = coco_metrics.evaluate(ground_truth, results, image_ids)
  with open(os.path.join(out, "ap.json"), "w") as f:
    json.dump(stats, f, indent=1)
  return stats
