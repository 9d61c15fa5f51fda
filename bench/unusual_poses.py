"""Poses the 3D generator never makes, for `python -m rtpe_jax.threed.lifter --poses`.

  python -m bench.unusual_poses --out out/unusual_poses.npz            # --kind uniform
  python -m bench.unusual_poses --out out/mode_poses.npz --kind modes  # the generator's own
  python -m rtpe_jax.threed.lifter --model out/lifting/export --poses out/unusual_poses.npz

`skeleton3d` draws joint angles from five modes (standing, walking, reaching,
sitting, crouching) plus 8 degrees of noise; "uniform" draws every angle
independently and uniformly within its human limits
(`skeleton3d.sample_uniform_angles`), so
most poses are asymmetric mixtures no mode makes (one arm up and one knee
raised, a deep lean with straight legs, ...). Bodies, placement (2-9 m, any
yaw) and the camera (a centred 320 x 256 one, 60 degrees across, 1.6 m high,
level) are the same for both kinds, so the two files differ only in the pose
prior. Writes `joints_3d` (N, 17, 3) camera mm and `K` (3, 3).
"""

from __future__ import annotations

import argparse

import numpy as np

from rtpe_jax.threed import skeleton3d, synthetic3d


def poses(seed: int, n: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
  """(joints_3d (n, 17, 3) camera mm, K (3, 3)) of n people of `kind`; the
  bodies and places depend on the seed only (drawn before the angles)."""
  rng = np.random.default_rng(seed)
  bodies = skeleton3d.sample_bodies(rng, n)
  distance = rng.uniform(*synthetic3d.DISTANCE_MM, n)
  across = rng.uniform(-0.8, 0.8, n) * distance * np.tan(np.radians(30.0))
  yaw = rng.uniform(0.0, 360.0, n)
  sample = skeleton3d.sample_uniform_angles if kind == "uniform" else skeleton3d.sample_angles
  body_frame = skeleton3d.pose(bodies, sample(rng, n))
  placed = skeleton3d.place(body_frame, yaw, np.stack([across, distance], 1))
  K = synthetic3d.intrinsics(320, 256, 60.0)
  return synthetic3d.world_to_camera(placed, 1600.0, 0.0), K


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--out", required=True, help=".npz to write")
  parser.add_argument("--kind", choices=("uniform", "modes"), default="uniform")
  parser.add_argument("--count", type=int, default=4096)
  parser.add_argument("--seed", type=int, default=7)
  args = parser.parse_args(argv)
  joints, K = poses(args.seed, args.count, args.kind)
  np.savez(args.out, joints_3d=joints, K=K)
  print(f"{args.count} {args.kind} poses -> {args.out}")


if __name__ == "__main__":
  main()
