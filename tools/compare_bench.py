#!/usr/bin/env python3
"""Turns the JSON outputs of `viz bench --json` and `tools/bench_pytorch.py` into a Markdown table.

    python3 tools/compare_bench.py --ours R1.json R2.json ... --torch T1.json T2.json ...

The i-th --ours file and the i-th --torch file are one round (run back to back by
tools/bench-vs-pytorch). Every key ending in `_ms` is a workload. For each workload the table shows
the median over rounds of each side, and the median over rounds of the per-round ratio ours/PyTorch
(pairing the two runs of a round cancels some of the machine's drift). A file may contain other
output before its JSON object: the last line that parses as a JSON object is used.
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys

ORDER = ["forward_224_ms", "gradcam_224_ms", "ascent_150_block3_conv1_40_ms",
         "scorecam_224_block3_conv3_ms", "lucid_128_block4_conv1_8x32_ms", "grid_64_ms"]


def load_json(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        obj = json.loads(text)
        if isinstance(obj, dict):
            return obj
    except json.JSONDecodeError:
        pass
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                return obj
    raise SystemExit(f"compare_bench: no JSON object found in {path}")


def run(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return out.stdout.strip() if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def machine():
    model = None
    lscpu = run(["lscpu"])
    if lscpu:
        for line in lscpu.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
                break
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count()
    return {
        "cpu": model or "unknown",
        "nproc": run(["nproc"]) or str(cpus),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "rustc": run(["rustc", "--version"]) or "unknown",
    }


def fmt(v, digits=1):
    return "n/a" if v is None else f"{v:.{digits}f}"


def table(ours, torch_, info):
    keys = [k for k in ORDER if any(k in d for d in ours + torch_)]
    keys += sorted({k for d in ours + torch_ for k in d if k.endswith("_ms")} - set(keys))
    lines = ["| workload | PyTorch ms | ours ms | ours/PyTorch |", "|---|---:|---:|---:|"]
    detail = []
    for k in keys:
        t = [d[k] for d in torch_ if isinstance(d.get(k), (int, float))]
        o = [d[k] for d in ours if isinstance(d.get(k), (int, float))]
        ratios = [a[k] / b[k] for a, b in zip(ours, torch_)
                  if isinstance(a.get(k), (int, float)) and isinstance(b.get(k), (int, float)) and b[k] > 0]
        tm = statistics.median(t) if t else None
        om = statistics.median(o) if o else None
        rm = statistics.median(ratios) if ratios else None
        lines.append(f"| {k[:-3]} | {fmt(tm)} | {fmt(om)} | {fmt(rm, 2)} |")
        detail.append(f"- {k[:-3]}: PyTorch [{', '.join(fmt(v) for v in t)}], "
                      f"ours [{', '.join(fmt(v) for v in o)}]")
    versions = sorted({str(d.get("torch_version")) for d in torch_ if d.get("torch_version")})
    t_threads = sorted({str(d.get("threads")) for d in torch_ if "threads" in d})
    o_threads = sorted({str(d.get("threads")) for d in ours if "threads" in d})
    head = [
        "## VGG16: ours vs PyTorch (CPU, float32, batch 1)",
        "",
        f"Machine: {info['cpu']}, nproc {info['nproc']}; {info['date']}; {info['rustc']}; "
        f"torch {', '.join(versions) or 'unknown'}. Threads: ours {', '.join(o_threads) or '?'}, "
        f"PyTorch {', '.join(t_threads) or '?'}. {len(torch_)} round(s); each number is a median "
        "over rounds of per-round medians; the ratio is the median of the per-round ratios "
        "(below 1: ours is faster).",
        "",
    ]
    tail = ["", "Per-round medians (ms):", ""] + detail
    return "\n".join(head + lines + tail) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ours", nargs="+", required=True, metavar="JSON", help="viz bench --json outputs")
    ap.add_argument("--torch", nargs="+", required=True, metavar="JSON",
                    help="tools/bench_pytorch.py outputs")
    args = ap.parse_args()
    if len(args.ours) != len(args.torch):
        print(f"compare_bench: warning: {len(args.ours)} ours vs {len(args.torch)} PyTorch files; "
              "ratios use the rounds present on both sides", file=sys.stderr)
    ours = [load_json(p) for p in args.ours]
    torch_ = [load_json(p) for p in args.torch]
    sys.stdout.write(table(ours, torch_, machine()))


if __name__ == "__main__":
    main()
