"""Orbax checkpoints of a train state, one implementation for every trainer (the
students' and teachers' loop, the lifter's): the latest few to resume from, or
the best by a metric, and resuming with an error that says what to do."""

from __future__ import annotations

import os

import orbax.checkpoint as ocp


def manager(directory: str, keep: int, best: str = "") -> ocp.CheckpointManager:
  """Keeps the latest `keep` checkpoints in `directory`, or with `best` (a metric
  name) the best `keep` by it (highest)."""
  options = ocp.CheckpointManagerOptions(
    max_to_keep=keep, create=True, best_fn=(lambda m: m[best]) if best else None, best_mode="max"
  )
  return ocp.CheckpointManager(os.path.abspath(directory), options=options)


def save(checkpoints: ocp.CheckpointManager, step: int, state, metrics=None) -> None:
  checkpoints.save(step, args=ocp.args.StandardSave(state), metrics=metrics)


def resume(checkpoints: ocp.CheckpointManager, state, *others: ocp.CheckpointManager):
  """(the latest checkpoint restored into `state`'s structure, its step), or
  (`state`, 0) when there is none. A checkpoint that does not match `state`
  closes `checkpoints` and `others` and raises a ValueError naming it."""
  start = checkpoints.latest_step() or 0
  if not start:
    return state, 0
  try:
    return checkpoints.restore(start, args=ocp.args.StandardRestore(state)), start
  except ValueError as e:
    close(checkpoints, *others)
    raise ValueError(
      f"{checkpoints.directory}/{start}: cannot resume, the checkpoint does not match this "
      f"config and code ({e}). Give a fresh --workdir, or move the old one away."
    ) from e


def close(*managers: ocp.CheckpointManager) -> None:
  """Waits for pending saves, then closes each manager."""
  for m in managers:
    m.wait_until_finished()
  for m in managers:
    m.close()
