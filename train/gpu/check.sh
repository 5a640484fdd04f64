#!/usr/bin/env bash
# GPU check for the trainer's `small` preset against its PyTorch twin.
# Run on the GPU machine from the repository root after train/gpu/prepare.sh
# filled .gpu/ on the development machine:
#   bash train/gpu/check.sh [STEPS]
# For batch 8 and 32 it trains the `small` preset (246M parameters, bf16
# compute, float32 master weights) for STEPS steps with GoMLX's XLA backend,
# fed by the shards.Loader from a real model-ready corpus (prepare.sh's NIfTI
# sample through the model_input stage: 3D uint8 1×D×256×256), then runs
# torch_small.py (PyTorch eager, the same parameters, 3D input of the
# corpus's first depth) on the same GPU, and prints median step time,
# data_wait_s, tokens/s, MFU (6 × params × tokens / (t × 989 TFLOP/s), the
# twin's formula) and the ratio torch/GoMLX (> 1: GoMLX faster).
# Logs stay in ${OUT:-.gpu/out}; the table is printed last.
set -uo pipefail
STEPS=${1:-30}
BIN=${BIN:-.gpu/medmd}
MANIFEST=${MANIFEST:-.gpu/corpus/manifest.json}
LOGS=${OUT:-.gpu/out}
mkdir -p "$LOGS"
# DRY_RUN=1 checks the script's plumbing on a CPU: the small geometry with
# a CPU-sized model, pure-Go backend, no twin.
PRESET=small
if [ -n "${DRY_RUN:-}" ]; then
  export GOMLX_BACKEND=go:parallelism=-1
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
  if [ -n "${DRY_RUN:-}" ]; then
    # The small geometry (the corpus is model-ready for it) with a model
    # small enough for a CPU.
    cat >> "$LOGS/small-b$B.yaml" <<YAML
vis_dim: 32
vis_layers: 1
vis_heads: 2
vis_mlp: 64
perc_layers: 1
latents: 4
lm_dim: 32
lm_layers: 1
lm_heads: 2
lm_mlp: 64
vocab: 0
tokenizer_vocab: 320
context: 64
dtype: float32
YAML
  fi
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
    wait = statistics.median(m.get("data_wait_s", float("nan")) for m in ms)
    print(f"{wall*1000:.1f} {dev*1000:.1f} {wait*1000:.2f}")
except Exception as e:
    print("nan nan nan")
PY
)
  # The corpus's first 3D batch shape, from the trainer's start-up line
  # ("batch shapes … 3d uint8 1x64x256x256 …"): the twin runs that depth.
  DEPTH=$(grep -o '3d uint8 [0-9]*x[0-9]*' "$LOGS/gomlx-b$B.log" | head -1 | sed 's/.*x//')
  DEPTH=${DEPTH:-64}
  echo "== PyTorch eager B=$B (3D depth $DEPTH)"
  if [ -z "${DRY_RUN:-}" ]; then
    timeout 300 python3 train/gpu/torch_small.py "$B" nocompile 3d "$DEPTH" 2>&1 | tee "$LOGS/torch-b$B.log" | tail -2
  else
    echo "torch eager: step_median=nan (dry run)" > "$LOGS/torch-b$B.log"
  fi
  TORCH_MS[$B]=$(grep -o 'step_median=[0-9.]*' "$LOGS/torch-b$B.log" | head -1 | cut -d= -f2)
  TORCH_MS[$B]=${TORCH_MS[$B]:-nan}
done
python3 - ${GO_MS[8]} "${TORCH_MS[8]}" ${GO_MS[32]} "${TORCH_MS[32]}" "${DEPTH:-64}" <<'PY' | tee "$LOGS/table.txt"
import sys, math
d, ctx, vocab, nlat = 768, 512, 32000, 32
block = 12*d*d + 13*d
vit_p, lm_p, perc_p = 12*block, 12*block + vocab*d, 2*block
vals = list(map(float, sys.argv[1:-1]))
depth = int(sys.argv[-1])
npatch = (depth // 4) * (256 // 32) * (256 // 32)
print()
# GoMLX ms is the median wall time per step (data wait included); "device"
# is the optimizer-step call alone; data wait is metrics.jsonl's data_wait_s.
# Ratio and MFU use the wall time.
print(f"| batch | GoMLX XLA ms (device) | data_wait ms (% of step) | PyTorch eager ms | torch/GoMLX | GoMLX tokens/s | GoMLX MFU |   (3D 3x{depth}x256x256, {npatch} patches)")
print("|---|---|---|---|---|---|---|")
for i, B in enumerate((8, 32)):
    g, gd, w, t = vals[4*i], vals[4*i+1], vals[4*i+2], vals[4*i+3]
    flops = 6 * B * (vit_p*npatch + lm_p*ctx + perc_p*nlat)
    mfu = flops / (g/1000) / 989e12 * 100 if g == g else float("nan")
    tps = B*ctx / (g/1000) if g == g else float("nan")
    ratio = t / g if g == g and t == t else float("nan")
    print(f"| {B} | {g:.1f} ({gd:.1f}) | {w:.2f} ({100*w/g:.1f}%) | {t:.1f} | {ratio:.2f} | {tps:,.0f} | {mfu:.1f}% |")
PY
