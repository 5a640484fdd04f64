#!/usr/bin/env bash
# GPU check for the trainer's `small` preset against its PyTorch twin.
# Run on the GPU machine from the repository root after train/gpu/prepare.sh
# filled .gpu/ on the development machine:
#   bash train/gpu/check.sh [STEPS]
# For batch 8 and 32 it trains the `small` preset (237M parameters, bf16
# compute, float32 master weights) for STEPS steps with GoMLX's XLA backend,
# then runs torch_small.py (PyTorch eager, same shapes) on the same GPU, and
# prints median step time, tokens/s, MFU (6 × params × tokens / (t × 989
# TFLOP/s), the twin's formula) and the ratio torch/GoMLX (> 1: GoMLX faster),
# next to the anchors measured on an H100 (eager 61.0 ms at 8, 83.1 ms at 32).
# Logs stay in ${OUT:-.gpu/out}; the table is printed last.
set -uo pipefail
STEPS=${1:-30}
BIN=${BIN:-.gpu/medmd}
MANIFEST=${MANIFEST:-.gpu/corpus/manifest.json}
LOGS=${OUT:-.gpu/out}
mkdir -p "$LOGS"
# DRY_RUN=1 checks the script's plumbing on a CPU: tiny preset, pure-Go
# backend, no twin.
PRESET=small
if [ -n "${DRY_RUN:-}" ]; then
  PRESET=tiny; export GOMLX_BACKEND=go:parallelism=-1
else
  source train/gpu/env.sh || exit 1
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$LOGS/gpu.txt"
fi
declare -A GO_MS TORCH_MS
for B in 8 32; do
  cat > "$LOGS/small-b$B.yaml" <<YAML
batch: $B
steps: $STEPS
warmup: 5
eval_every: 0
ckpt_every: 0
log_every: 5
skip_final_checkpoint: true
YAML
  rm -rf "$LOGS/run-b$B"
  echo "== GoMLX small B=$B"
  timeout 400 "$BIN" train --preset "$PRESET" --config "$LOGS/small-b$B.yaml" --manifest "$MANIFEST" \
    --out "$LOGS/run-b$B" 2>&1 | tee "$LOGS/gomlx-b$B.log" | tail -4
  GO_MS[$B]=$(python3 - "$LOGS/run-b$B/metrics.jsonl" <<'PY'
import json, sys, statistics
try:
    ms = [json.loads(l) for l in open(sys.argv[1])]
    ms = [m for m in ms if m["step"] > 5]   # skip compile + warm-up
    wall = statistics.median(m["step_s"] for m in ms)
    dev = statistics.median(m.get("compute_s", m["step_s"]) for m in ms)
    print(f"{wall*1000:.1f} {dev*1000:.1f}")
except Exception as e:
    print("nan nan")
PY
)
  echo "== PyTorch eager B=$B"
  if [ -z "${DRY_RUN:-}" ]; then
    timeout 300 python3 train/gpu/torch_small.py "$B" nocompile 2>&1 | tee "$LOGS/torch-b$B.log" | tail -2
  else
    echo "torch eager: step_median=nan (dry run)" > "$LOGS/torch-b$B.log"
  fi
  TORCH_MS[$B]=$(grep -o 'step_median=[0-9.]*' "$LOGS/torch-b$B.log" | head -1 | cut -d= -f2)
  TORCH_MS[$B]=${TORCH_MS[$B]:-nan}
done
python3 - ${GO_MS[8]} "${TORCH_MS[8]}" ${GO_MS[32]} "${TORCH_MS[32]}" <<'PY' | tee "$LOGS/table.txt"
import sys, math
d, ctx, vocab, nlat, npatch = 768, 512, 32000, 32, 256
block = 12*d*d + 13*d
vit_p, lm_p, perc_p = 12*block, 12*block + vocab*d, 2*block
anchor = {8: 61.0, 32: 83.1}
vals = list(map(float, sys.argv[1:]))
print()
# GoMLX ms is the median wall time per step (data wait included); "device"
# is the optimizer-step call alone. Ratio and MFU use the wall time.
print("| batch | GoMLX XLA ms (device) | PyTorch eager ms (this run) | anchor ms (H100) | torch/GoMLX | GoMLX tokens/s | GoMLX MFU |")
print("|---|---|---|---|---|---|---|")
for i, B in enumerate((8, 32)):
    g, gd, t = vals[3*i], vals[3*i+1], vals[3*i+2]
    flops = 6 * B * (vit_p*npatch + lm_p*ctx + perc_p*nlat)
    mfu = flops / (g/1000) / 989e12 * 100 if g == g else float("nan")
    tps = B*ctx / (g/1000) if g == g else float("nan")
    ratio = t / g if g == g and t == t else float("nan")
    print(f"| {B} | {g:.1f} ({gd:.1f}) | {t:.1f} | {anchor[B]:.1f} | {ratio:.2f} | {tps:,.0f} | {mfu:.1f}% |")
PY
