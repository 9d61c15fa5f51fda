"""Checkpoints: the latest kept, the best by a metric, resumed into the state's
structure, and a checkpoint of another structure refused with what to do."""

import numpy as np
import pytest

from rtpe_jax.train import checkpoints


def test_save_resume_keep_and_best(tmp_path):
  state = {"w": np.zeros(3, np.float32), "step": np.zeros((), np.int32)}
  latest = checkpoints.manager(str(tmp_path / "checkpoints"), keep=2)
  best = checkpoints.manager(str(tmp_path / "best"), 1, best="AP")
  assert checkpoints.resume(latest, state)[1] == 0  # nothing to resume
  for step, ap in ((1, 0.2), (2, 0.5), (3, 0.3)):
    saved = {"w": np.full(3, step, np.float32), "step": np.full((), step, np.int32)}
    checkpoints.save(latest, step, saved)
    checkpoints.save(best, step, saved, metrics={"AP": ap})
  checkpoints.close(latest, best)
  latest = checkpoints.manager(str(tmp_path / "checkpoints"), keep=2)
  best = checkpoints.manager(str(tmp_path / "best"), 1, best="AP")
  restored, step = checkpoints.resume(latest, state)
  assert step == 3 and latest.all_steps() == [2, 3]
  np.testing.assert_array_equal(restored["w"], [3, 3, 3])
  assert best.all_steps() == [2]  # the best AP, 0.5
  with pytest.raises(ValueError, match="cannot resume, the checkpoint does not match"):
    checkpoints.resume(latest, {"other": np.zeros(2)}, best)
