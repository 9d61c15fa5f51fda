"""The benchmark's table and its AP-against-latency plot, from the result files
and the latest timing (`bench/students/latency.json`), written into
docs/student.md between its markers."""

from __future__ import annotations

import json
import os
import statistics

from bench.students import runs

LATENCY = os.path.join(os.path.dirname(runs.RESULTS), "latency.json")
RATIO_TO = ("quickstart", "realtime")  # the students the anchors' ratios are given for
DOC = os.path.join(runs.ROOT, "docs", "student.md")
PLOT = os.path.join(runs.ROOT, "docs", "student_front.png")
BEGIN, END = "<!-- bench.students: begin -->", "<!-- bench.students: end -->"
FIGURES = ("AP", "AP .5", "AP (M)", "AP (L)", "AR", "AP h<64", "AP h64-128", "AP h>128")


def read_latency(path: str = LATENCY) -> dict:
  if not os.path.exists(path):
    return {}
  with open(path) as f:
    return json.load(f)


def rows(results: list[dict]) -> list[dict]:
  """One row per candidate: its cost, and each benchmark figure's mean, min and
  max over its seeds."""
  by_candidate = {}
  for r in results:
    by_candidate.setdefault(r["candidate"], []).append(r)
  out = []
  for name, group in by_candidate.items():
    group.sort(key=lambda r: r["seed"])
    figures = {
      key: [r["benchmark"][key] for r in group] for key in FIGURES if key in group[0]["benchmark"]
    }
    out.append(
      {
        "candidate": name,
        "seeds": [r["seed"] for r in group],
        "params": group[0]["params"],
        "gmac_256": group[0]["gmac_256"],
        "gmac_512": group[0]["gmac_512"],
        "selection_ap": statistics.mean(r["selection"]["AP"] for r in group),
        "train_min": statistics.mean(r["train_s"] for r in group) / 60,
        "figures": figures,
      }
    )
  return sorted(out, key=lambda row: row["gmac_256"])


def _spread(values: list[float]) -> str:
  mean = statistics.mean(values)
  if len(values) == 1:
    return f"{mean:.3f}"
  return f"{mean:.3f} ({min(values):.3f}-{max(values):.3f})"


def _ms(latency: dict, name: str, kind: str, size: int) -> str:
  value = latency.get("ms", {}).get(f"{name} {kind} {size}")
  return f"{value:.1f}" if value is not None else ""


def table(results: list[dict], latency: dict) -> str:
  """Markdown: the candidates' table (figures on the benchmark split, mean and the
  range over seeds), then every run with its command, date and machine."""
  head = (
    "| candidate | seeds | params | GMAC 256 / 512 | AP | AP .5 | AP (M) | AP (L) | AR "
    "| AP h<64 | AP h64-128 | AP h>128 | selection AP | network ms 256 / 512 | path ms 256 / 512 "
    "| train min |"
  )
  lines = [head, "|" + " --- |" * (head.count("|") - 1)]
  for row in rows(results):
    f = row["figures"]
    name = row["candidate"]
    cells = [_spread(f[key]) if key in f else "" for key in FIGURES]
    lines.append(
      f"| {name} | {','.join(map(str, row['seeds']))} | {row['params']:,} "
      f"| {row['gmac_256']:.2f} / {row['gmac_512']:.2f} | {' | '.join(cells)} "
      f"| {row['selection_ap']:.3f} "
      f"| {_ms(latency, name, 'network', 256)} / {_ms(latency, name, 'network', 512)} "
      f"| {_ms(latency, name, 'path', 256)} / {_ms(latency, name, 'path', 512)} "
      f"| {row['train_min']:.1f} |"
    )
  lines += ["", "| run | AP | train s | command | date | CPU |", "| --- " * 6 + "|"]
  for r in sorted(results, key=lambda r: r["run"]):
    machine = f"{r['cpu']['model']}, {r['cpu']['cores']} cores ({r['cpu']['flags']})"
    resumed = f" (resumed at {r['resumed_from_step']})" if r.get("resumed_from_step") else ""
    command, date = f"`{r['command']}`", r["date"]
    if r.get("rescored"):  # trained by the first command, scored by the second
      command += f", rescored: `{r['rescored']['command']}`"
      date += f", {r['rescored']['date']}"
    lines.append(
      f"| {r['run']} | {r['benchmark']['AP']:.3f} | {r['train_s']:.0f}{resumed} | {command} "
      f"| {date} | {machine} |"
    )
  if latency.get("anchors"):
    sizes = (256, 512, 640)
    ours = [n for n in RATIO_TO if f"{n} network 256" in latency["ms"]]
    lines += [
      "",
      "| speed anchor (timed, not trained; ONNX Runtime) | network ms "
      + " / ".join(map(str, sizes))
      + "".join(f" | {n} network / anchor's, 256 / 512" for n in ours)
      + " |",
      "| --- " * (2 + len(ours)) + "|",
    ]
    for name in latency["anchors"]:
      cells = []
      for student in ours:
        ratios = []
        for size in sizes[:2]:
          mine = latency["ms"].get(f"{student} network {size}")
          theirs = latency["ms"].get(f"{name} network {size}")
          ratios.append(f"{mine / theirs:.2f}x" if mine and theirs else "")
        cells.append(" / ".join(ratios))
      lines.append(
        f"| {name} | {' / '.join(_ms(latency, name, 'network', s) for s in sizes)} "
        + "".join(f"| {c} " for c in cells)
        + "|"
      )
  if latency:
    runtime = f" Anchors: {latency['runtime']}." if latency.get("runtime") else ""
    lines += [
      "",
      f"Latency: `{latency['command']}`, {latency['date']}, {latency['machine']}; medians of "
      f"{latency['rounds']} interleaved rounds, fp32, batch 1.{runtime}",
    ]
  return "\n".join(lines)


def plot(results: list[dict], latency: dict, path: str = PLOT) -> str:
  """AP on the benchmark split (mean, bars: the seeds' range) against the
  network's latency at 256 px; returns the path written."""
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
  for row in rows(results):
    ms = latency.get("ms", {}).get(f"{row['candidate']} network 256")
    if ms is None:
      continue
    ap = row["figures"]["AP"]
    mean = statistics.mean(ap)
    ax.errorbar(ms, mean, yerr=[[mean - min(ap)], [max(ap) - mean]], fmt="o", capsize=3)
    ax.annotate(row["candidate"], (ms, mean), textcoords="offset points", xytext=(5, 4), fontsize=8)
  for name in latency.get("anchors", []):
    ms = latency["ms"][f"{name} network 256"]
    ax.axvline(ms, color="grey", linestyle=":", linewidth=1)
    ax.annotate(
      name, (ms, 0.02), rotation=90, fontsize=7, color="grey", xycoords=("data", "axes fraction")
    )
  ax.set_xlabel("network latency at 256 px, ms (fp32, batch 1, this CPU)")
  ax.set_ylabel("AP, benchmark split")
  ax.grid(alpha=0.3)
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)
  return path


def write_doc(results: list[dict], latency: dict, doc: str = DOC, plot_path: str = PLOT) -> None:
  """Replaces the text between the markers of `doc` with the table (and the plot
  under it, written beside the doc)."""
  with open(doc) as f:
    text = f.read()
  if BEGIN not in text or END not in text:
    raise ValueError(f"{doc}: the markers {BEGIN} and {END} are missing")
  body = table(results, latency)
  if latency and results:
    plot(results, latency, plot_path)
    body += f"\n\n![AP against latency]({os.path.basename(plot_path)})"
  before, rest = text.split(BEGIN, 1)
  after = rest.split(END, 1)[1]
  with open(doc + ".tmp", "w") as f:
    f.write(f"{before}{BEGIN}\n{body}\n{END}{after}")
  os.replace(doc + ".tmp", doc)
