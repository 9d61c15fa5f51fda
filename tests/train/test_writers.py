"""What the trainer writes besides scalars: a batch's panels and leaves by name."""

import numpy as np

from rtpe_jax.inference import overlays
from rtpe_jax.train import writers


def test_panels_of_the_first_sample_and_leaves_by_name(tmp_path):
  rng = np.random.default_rng(0)
  batch = {
    "image": rng.integers(0, 256, (2, 16, 16, 3), np.uint8),
    "weights_4": np.ones((2, 4, 4), np.float32),
    "heatmaps_4": rng.uniform(0, 1, (2, 1, 4, 4, 17)).astype(np.float32),
    "person_mask_4": np.zeros((2, 4, 4), np.float32),
  }
  outputs = {"heatmaps": np.zeros((2, 4, 4, 17)), "segmentation": np.zeros((2, 4, 4, 1))}
  panels = writers.pictures(batch, outputs, "student", 4)
  assert set(panels) == {"input", "weights", "truth", "person_mask", "student", "attention"}
  np.testing.assert_allclose(panels["input"][0], batch["image"][0] / 255.0)
  assert all(p.shape[0] == 1 and p.shape[-1] == 3 for p in panels.values())
  # segmentation logits 0: an attention of 0.5 everywhere, through the heat colour map
  want = overlays.heat(np.full((4, 4), 0.5)).astype(np.float32) / 255.0
  np.testing.assert_allclose(panels["attention"][0], want, atol=1e-6)
  leaves = writers.named_leaves({"a": {"b": np.ones(2)}, "c": np.zeros(1)})
  assert sorted(leaves) == ["a/b", "c"]
  writer, image_writer = writers.create(str(tmp_path), lead=False)
  assert image_writer is None
  writer.write_scalars(1, {"x": 1.0})
  writer.flush()
