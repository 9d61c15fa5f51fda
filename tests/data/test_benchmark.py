"""The students' benchmark data (rtpe_jax/data/synthetic/benchmark.py): its own
seeds, scenes of one person to crowds of 10 or more, every height bin and COCO
area range; the quickstart's data untouched by the parameters' move."""

import hashlib
import json
import os

import numpy as np
import pytest

from rtpe_jax.data.synthetic import benchmark, cli, scenes


@pytest.fixture(scope="module")
def sample():
  """The first 48 images of the benchmark split, as the benchmark writes them."""
  seed = benchmark.SPLITS[benchmark.BENCHMARK][0]
  return [benchmark.make_image(seed, benchmark.BENCHMARK, i)[2] for i in range(48)]


def _people(annotations):
  return [a for a in annotations if not a["iscrowd"] and a["keypoints"] is not None]


def test_the_splits_have_their_own_seeds_and_sizes():
  seeds = [seed for seed, _ in benchmark.SPLITS.values()]
  assert len(set(seeds)) == 3 and scenes.DEFAULT.people == (0, 6)
  assert {split: n for split, (_, n) in benchmark.SPLITS.items()} == {
    "train2017": 2048,
    "selection2017": 512,
    "benchmark2017": 512,
  }
  ids = {scenes.image_id(split, 0) for split in benchmark.SPLITS}
  assert ids == {1, 3_000_001, 4_000_001}


def test_scenes_range_from_one_person_to_crowds(sample):
  counts = [len(_people(anns)) for anns in sample]
  assert min(counts) >= 1 and max(counts) >= 10
  crowds = sum(c >= 10 for c in counts)
  assert 4 <= crowds <= 20, counts  # one scene in five: 9.6 expected in 48
  # Crowds hide people: some of their joints are labelled occluded (v=1).
  crowd_scene = next(anns for anns, c in zip(sample, counts) if c >= 10)
  visibility = np.concatenate(
    [np.reshape(a["keypoints"], (17, 3))[:, 2] for a in _people(crowd_scene)]
  )
  assert (visibility == 1).sum() >= 10


def test_every_height_bin_and_area_range_is_present(sample):
  people = [a for anns in sample for a in _people(anns)]
  heights = np.array([a["bbox"][3] for a in people])
  areas = np.array([a["area"] for a in people])
  assert heights.min() < 40 and heights.max() > 200
  for low, high in ((0, 64), (64, 128), (128, 1e9)):
    assert ((heights >= low) & (heights < high)).sum() >= 0.15 * len(people), (low, high)
  for low, high in ((0, 32**2), (32**2, 96**2), (96**2, 1e9)):
    assert ((areas >= low) & (areas < high)).any(), (low, high)


def test_the_default_scenes_keep_their_stream():
  """The quickstart's data is what it was before the generator's parameters moved
  into `SceneParams` (the digest taken from the code before the move: a height is
  still drawn for every bin); the benchmark's parameters make other scenes."""
  digest = hashlib.sha256()
  for i in range(6):
    image, _, annotations = scenes.make_image(3, "val2017", i, 96)
    digest.update(image.tobytes())
    digest.update(repr(annotations).encode())
  assert digest.hexdigest() == "db5c1c8a0b154b5c8e4eaa312f87618a445c886e4162db7bbd753882e4b22bad"
  default = np.asarray(scenes.make_image(3, "val2017", 5, 64)[0])
  other = np.asarray(scenes.make_image(3, "val2017", 5, 64, benchmark.PARAMS)[0])
  assert not np.array_equal(default, other)


def test_command_line_writes_the_fixed_splits(tmp_path, monkeypatch):
  for split, (seed, _) in list(benchmark.SPLITS.items()):
    monkeypatch.setitem(benchmark.SPLITS, split, (seed, 2))
  cli.main(["--benchmark", "--out", str(tmp_path), "--workers", "1"])
  for split in benchmark.SPLITS:
    with open(tmp_path / "annotations" / f"person_keypoints_{split}.json") as f:
      data = json.load(f)
    assert [i["id"] for i in data["images"]] == [scenes.image_id(split, i) for i in (0, 1)]
    assert len(os.listdir(tmp_path / "images" / split)) == 2
  with pytest.raises(SystemExit):
    cli.main(["--benchmark", "--out", str(tmp_path), "--seed", "3"])  # its seeds are fixed
