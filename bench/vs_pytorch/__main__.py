"""python -m bench.vs_pytorch: the command line (`bench.vs_pytorch` says what it measures)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

from bench.vs_pytorch import by_part, fixture, jobs, protocol, speed


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--reference", help="a clone of the public HigherHRNet repository")
  parser.add_argument("--only", choices=["forward", "grouping", "protocol"])
  parser.add_argument("--fixture", help="with --only protocol: write the reference's people here")
  parser.add_argument(
    "--profile", choices=list(jobs.EXPERIMENTS), help="time by part of the network"
  )
  parser.add_argument(
    "--archs", nargs="+", default=list(jobs.EXPERIMENTS), choices=list(jobs.EXPERIMENTS)
  )
  parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
  parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"])
  parser.add_argument("--people", nargs="+", type=int, default=[1, 5, 20])
  parser.add_argument("--rounds", type=int, default=2)
  parser.add_argument("--runs", type=int, default=3, help="timed forward calls per measurement")
  parser.add_argument("--grouping-runs", type=int, default=20)
  parser.add_argument("--warmup", type=int, default=1)
  parser.add_argument("--out", help="write the table (markdown) here")
  parser.add_argument("--job", help=argparse.SUPPRESS)  # a worker process's one measurement
  args = parser.parse_args(argv)
  if args.job:
    job = json.loads(args.job)
    print(json.dumps(jobs.work(job)))
    return
  if not args.reference or not os.path.isdir(os.path.join(args.reference, "lib")):
    parser.error(
      f"--reference {args.reference}: give a clone of the public HigherHRNet "
      "repository (a directory with lib/ and experiments/)"
    )
  from bench.common import machine

  if args.only == "protocol":
    job = {"what": "protocol", "reference": args.reference}
    results = {side: jobs.run_job({**job, "side": side}) for side in ("reference", "ours")}
    worst = protocol.compare_protocols(results["reference"], results["ours"])
    for case, r in zip(protocol.PROTOCOL_CASES, results["reference"]["cases"]):
      print(f"{case[1]}x{case[0]} at {case[2]}, flip {case[3]}: {len(r['people'])} people")
    print(f"largest difference of our people to the reference's: {worst:.2e} px")
    if args.fixture:
      fixture.write_protocol_fixture(args.fixture, results["reference"])
      print(f"wrote {args.fixture}")
    if not worst <= 0.01:
      raise SystemExit("the protocols disagree")
    return
  if args.profile:
    job = {"what": "profile", "arch": args.profile, "batch": args.batches[0]}
    job.update(runs=args.runs, warmup=args.warmup, reference=args.reference)
    results = {side: jobs.run_job({**job, "side": side}) for side in ("reference", "ours")}
    text = by_part.profile_table(
      results["reference"],
      results["ours"],
      args.profile,
      args.batches[0],
      machine(),
      time.strftime("%Y-%m-%d"),
    )
    print(text)
    return
  with tempfile.TemporaryDirectory() as maps_dir:
    args.maps_dir = maps_dir
    if args.only in (None, "grouping"):
      speed.write_maps(maps_dir, args.people)
    rows = speed.compare(speed.measurements(args), args.rounds)
  text = speed.table(rows, machine(), time.strftime("%Y-%m-%d"))
  print(text)
  if args.out:
    with open(args.out, "w") as f:
      f.write(
        f"# rtpe-jax against the PyTorch reference\n\n`python -m bench.vs_pytorch "
        f"{' '.join(argv if argv is not None else sys.argv[1:])}`\n\n{text}"
      )


if __name__ == "__main__":
  main()
