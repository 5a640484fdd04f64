#!/usr/bin/env bash
# Run on the development machine, from the repository root: builds what
# train/gpu/check.sh needs into .gpu/ (git-ignored), so the GPU machine (no Go,
# no network) only runs it.
#   .gpu/medmd            cgo build with the XLA backend, stripped (< 64 MiB)
#   .gpu/corpus/          a small shard corpus (the README's NIfTI sample)
# Then, on the GPU machine: bash train/gpu/check.sh (it sources
# train/gpu/env.sh, which points GoMLX at the machine's CUDA PJRT plugin).
set -euo pipefail
mkdir -p .gpu
CGO_ENABLED=1 go build -ldflags='-s -w' -o .gpu/medmd ./cmd/medmd
rm -rf .gpu/scratch && mkdir -p .gpu/scratch
# The bundled sample pipelines write under out/; build only the NIfTI sample.
(cd .gpu/scratch && cp ../../pipelines.yaml . && ln -sfn ../../testdata testdata && ../medmd run nifti-sample -f pipelines.yaml)
rm -rf .gpu/corpus && mv .gpu/scratch/out/nifti-sample .gpu/corpus && rm -rf .gpu/scratch
ls -la .gpu .gpu/corpus
du -sh .gpu
