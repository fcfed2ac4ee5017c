#!/usr/bin/env bash
# The throughput benchmark on a CUDA machine, with the GPU's utilisation sampled.
#
#   benchmarks/gpu.sh [OUT_DIR] [more benchmarks/throughput.py options]
#
# Runs benchmarks/throughput.py with --device cuda (ClipModel then embeds under fp16
# autocast), 12 clips so that the GPU has something to chew on, decode tasks = cores - 2
# and batch 256 (throughput.py's cuda defaults), while nvidia-smi samples utilisation
# every 200 ms in the background. Afterwards it prints, per measurement, the mean and
# p90 GPU utilisation and the peak GPU memory, and whether reelcat's pipeline is
# decode-bound or model-bound: on a GPU the model bound is usually far above what the
# CPUs can decode, so the figure to watch is pipeline frames/s against the decode bound.
#
# Everything lands in OUT_DIR (default bench-gpu/): throughput.txt (the table and the
# JSON line), nvidia-smi.csv, phases.jsonl, gpu_summary.txt. Generated videos are cached
# in OUT_DIR/work. Sized to finish in well under 10 minutes on a 16-core machine; pass
# e.g. `--repeats 3 --videos 24` for a longer run or `--skip naive,memory` for a shorter.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT_DIR="bench-gpu"
if [[ $# -gt 0 && "$1" != -* ]]; then
  OUT_DIR="$1"
  shift
fi
PY="${PYTHON:-.venv/bin/python}"
[[ -x "$PY" ]] || PY="$(command -v python3)"

mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"

if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "gpu.sh: nvidia-smi not found: this is not a CUDA machine" >&2
  exit 2
fi
if ! "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "gpu.sh: torch ($PY) sees no CUDA device" >&2
  exit 2
fi

SMI="$OUT_DIR/nvidia-smi.csv"
PHASES="$OUT_DIR/phases.jsonl"
REPORT="$OUT_DIR/throughput.txt"
: > "$PHASES"
nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv,noheader \
  | tee "$OUT_DIR/gpu.txt"

# Background sampler: one line per GPU every 200 ms (timestamp in local time).
nvidia-smi --query-gpu=timestamp,index,utilization.gpu,memory.used \
  --format=csv,noheader,nounits -lms 200 > "$SMI" &
SMI_PID=$!
cleanup() { kill "$SMI_PID" 2>/dev/null || true; }
trap cleanup EXIT

set +e
"$PY" benchmarks/throughput.py --device cuda --videos 12 --repeats 2 --wait-quiet 0 \
  --work "$OUT_DIR/work" --phase-log "$PHASES" "$@" 2>&1 | tee "$REPORT"
STATUS=${PIPESTATUS[0]}
set -e
sleep 0.5
cleanup
wait "$SMI_PID" 2>/dev/null || true
if [[ $STATUS -ne 0 ]]; then
  echo "gpu.sh: the benchmark failed (exit $STATUS); see $REPORT" >&2
  exit "$STATUS"
fi

"$PY" - "$SMI" "$PHASES" "$REPORT" <<'PYEOF' | tee "$OUT_DIR/gpu_summary.txt"
import json, statistics, sys
from datetime import datetime

smi_path, phases_path, report_path = sys.argv[1:4]
samples = []  # (epoch seconds, gpu index, utilisation %, memory MiB)
for line in open(smi_path):
    parts = [p.strip() for p in line.split(",")]
    if len(parts) < 4:
        continue
    try:
        ts = datetime.strptime(parts[0], "%Y/%m/%d %H:%M:%S.%f").timestamp()
        samples.append((ts, int(parts[1]), float(parts[2]), float(parts[3])))
    except ValueError:
        continue  # "[N/A]" or a header
phases = [json.loads(l) for l in open(phases_path) if l.strip()]
summary = {}
for line in open(report_path):
    if line.startswith("{"):
        summary = json.loads(line)

print(f"\nGPU utilisation by measurement ({len(samples)} nvidia-smi samples, every 200 ms)")
print(f"{'measurement':<24} {'seconds':>8} {'mean %':>7} {'p90 %':>6} {'busy>10%':>9} "
      f"{'peak MiB':>9}")
for ph in phases:
    sel = [s for s in samples if ph["start"] <= s[0] <= ph["end"]]
    if not sel:
        print(f"{ph['phase']:<24} {ph['end'] - ph['start']:>8.1f}   (no samples)")
        continue
    util = sorted(s[2] for s in sel)
    p90 = util[min(len(util) - 1, int(0.9 * len(util)))]
    busy = sum(u > 10 for u in util) / len(util)
    print(f"{ph['phase']:<24} {ph['end'] - ph['start']:>8.1f} {statistics.mean(util):>7.1f} "
          f"{p90:>6.0f} {busy:>9.0%} {max(s[3] for s in sel):>9.0f}")

model = summary.get("model_bound_fps")
decode = summary.get("decode_bound_fps")
pipe = summary.get("pipeline_fps")
if model and decode and pipe:
    bound, name = (decode, "decode") if decode < model else (model, "model")
    print(f"\nbounds ({summary.get('mode')} sampling): model {model:.1f} frames/s on the GPU, "
          f"decode {decode:.1f} frames/s on the CPUs ({summary.get('cores')} cores)")
    print(f"the pipeline is {name}-bound: {pipe:.1f} frames/s = {pipe / bound:.0%} of the "
          f"{name} bound; the GPU could embed {model / decode:.1f}x what the CPUs decode"
          if decode < model else
          f"the pipeline is model-bound: {pipe:.1f} frames/s = {pipe / model:.0%} of it")
    print(f"serial bound {summary.get('serial_bound_fps')} frames/s; naive "
          f"{summary.get('naive_fps')} frames/s; pipeline / naive "
          f"{summary.get('ratio_vs_naive')}x")
PYEOF
