"""python -m bench.students: see `bench.students`."""

from __future__ import annotations

import argparse
import datetime
import json
import os

from bench.common import cpu
from bench.students import candidates, report, runs, timing


def _parse(argv):
  parser = argparse.ArgumentParser(
    prog="python -m bench.students",
    description="Trains the benchmark's missing runs, then writes its table and plot.",
  )
  parser.add_argument("--only", help="candidates, comma-separated (default: all)")
  parser.add_argument("--seeds", default="0,1,2", help="seeds, comma-separated (default 0,1,2)")
  parser.add_argument("--list", action="store_true", help="list the runs and what they have")
  parser.add_argument("--report", action="store_true", help="no training: table and plot only")
  parser.add_argument(
    "--rescore",
    action="store_true",
    help="no training: score the runs that have a result file again, under their candidate's "
    "present protocol settings (its export in --workdir)",
  )
  parser.add_argument(
    "--time",
    action="store_true",
    help="no training: time each candidate (its lowest seed's export in --workdir), interleaved",
  )
  parser.add_argument(
    "--anchors",
    action="store_true",
    help="with --time: YOLO-pose in ONNX Runtime in the same rounds (bench/students/anchors.py)",
  )
  parser.add_argument("--rounds", type=int, default=25, help="timing rounds (default 25)")
  parser.add_argument("--data", default=runs.DATA, help=f"benchmark data (default {runs.DATA})")
  parser.add_argument("--workdir", default=runs.WORKDIR, help=f"runs (default {runs.WORKDIR})")
  parser.add_argument("--results", default=runs.RESULTS, help="result files (default: bench's)")
  parser.add_argument("--doc", default=report.DOC, help="the doc the table goes into")
  parser.add_argument("--runlocal", action="store_true", help="seconds-long runs (the tests)")
  return parser.parse_args(argv)


def main(argv=None) -> None:
  args = _parse(argv)
  names = args.only.split(",") if args.only else list(candidates.CANDIDATES)
  for name in names:
    candidates.get(name)  # an unknown name fails before anything runs
  seeds = [int(s) for s in args.seeds.split(",")]
  planned = [
    (n, s, runs.result_path(runs.run_name(n, s), args.results)) for n in names for s in seeds
  ]
  if args.list:
    for name, seed, path in planned:
      print(f"{runs.run_name(name, seed):32s} {'done' if os.path.exists(path) else 'missing'}")
    return
  if args.rescore:
    for name, seed, path in planned:
      if os.path.exists(path):
        print(f"rescoring {runs.run_name(name, seed)}", flush=True)
        command = f"python -m bench.students --rescore --only {name} --seeds {seed}"
        result = runs.rescore(
          name,
          seed,
          args.data,
          args.workdir,
          args.results,
          args.runlocal,
          command + (" --runlocal" if args.runlocal else ""),
        )
        print(f"  AP {result['benchmark']['AP']:.4f} on the benchmark split")
  elif not (args.report or args.time):
    missing = [(n, s) for n, s, path in planned if not os.path.exists(path)]
    if missing and not os.path.isdir(os.path.join(args.data, "annotations")):
      from rtpe_jax.data.synthetic import benchmark

      print(f"writing the benchmark data to {args.data}")
      benchmark.write(args.data)
    for i, (name, seed) in enumerate(missing):
      print(f"[{i + 1}/{len(missing)}] training {runs.run_name(name, seed)}", flush=True)
      command = f"python -m bench.students --only {name} --seeds {seed}"
      command += " --runlocal" if args.runlocal else ""
      result = runs.train_and_score(
        name, seed, args.data, args.workdir, args.results, args.runlocal, command
      )
      print(
        f"  AP {result['benchmark']['AP']:.4f} on the benchmark split, {result['train_s']:.0f} s"
      )
  results = runs.read_results(args.results)
  latency = report.read_latency(os.path.join(os.path.dirname(args.results), "latency.json"))
  if args.time:
    latency = _time(results, names, args)
  plot = os.path.join(os.path.dirname(args.doc), os.path.basename(report.PLOT))
  report.write_doc(results, latency, args.doc, plot)
  print(report.table(results, latency))
  print(f"written: {args.doc}")


def _time(results: list[dict], names: list[str], args) -> dict:
  """Times each named candidate's export (its lowest seed's: network and whole
  path), or without one its network with random weights, interleaved; writes and
  returns the latency file's content."""
  import jax

  dirs, untrained = {}, {}
  for name in names:
    seeds = sorted(r["seed"] for r in results if r["candidate"] == name)
    export = os.path.join(args.workdir, runs.run_name(name, seeds[0]) if seeds else "", "export")
    if seeds and os.path.isfile(os.path.join(export, "arch.json")):
      dirs[name] = export
    else:
      untrained[name] = runs.run_config(candidates.get(name), 0, args.data, args.runlocal)
  if untrained:
    print(f"no trained export in {args.workdir}, network only: {', '.join(untrained)}")
  calls = timing.student_calls(dirs)
  calls.update(timing.untrained_network_calls(untrained))
  extra = {}
  if args.anchors:
    from bench.students import anchors

    calls.update(anchors.calls())
    extra = {"anchors": list(anchors.MODELS), "runtime": anchors.runtime()}
  ms = timing.interleaved_medians(calls, args.rounds, wait=jax.block_until_ready)
  machine = cpu()
  command = "python -m bench.students --time" + (f" --only {args.only}" if args.only else "")
  latency = {
    **extra,
    "ms": ms,
    "rounds": args.rounds,
    "command": command + (" --anchors" if args.anchors else ""),
    "date": datetime.date.today().isoformat(),
    "machine": f"{machine['model']}, {machine['cores']} cores ({machine['flags']})",
  }
  path = os.path.join(os.path.dirname(args.results), "latency.json")
  with open(path, "w") as f:
    json.dump(latency, f, indent=1, sort_keys=True)
    f.write("\n")
  return latency


if __name__ == "__main__":
  main()
