"""The reference's people on the protocol's maps, written for the tests
(tests/fixtures/protocol_reference.npz), which check ours against them without the
reference."""

from __future__ import annotations

from bench.vs_pytorch.protocol import PROTOCOL_CASES, protocol_maps


def write_protocol_fixture(path: str, reference: dict) -> None:
  """The reference's people per case (P, 17, 3) and scores, with each case's maps'
  sum (so that a test can tell that it made the same maps)."""
  import numpy as np

  arrays = {"cases": np.asarray(PROTOCOL_CASES, np.int64)}
  for case, r in enumerate(reference["cases"]):
    arrays[f"case{case}_people"] = np.asarray(r["people"], np.float64).reshape(-1, 17, 3)
    arrays[f"case{case}_scores"] = np.asarray(r["scores"], np.float64)
    arrays[f"case{case}_maps_sum"] = np.array(
      [float(np.sum(m, dtype=np.float64)) for m in protocol_maps(case).values()]
    )
  np.savez_compressed(path, **arrays)
