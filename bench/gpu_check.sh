#!/usr/bin/env bash
# Every figure of issue 14 on one GPU, in under 8 minutes, with nothing fetched from the network.
#
#   bash bench/gpu_prepare.sh      # HERE, once: wheels into .whl/, the GMD into .gpucheck/ (both git-ignored)
#   bash bench/gpu_check.sh        # THERE, in the repository root, with .whl and .gpucheck beside it
#                                  # (device tool: carry=[".whl", ".gpucheck"], timeout_s=540)
#
# Prints, in this order (each stage time-boxed; a global budget, BUDGET_S=450 by default, skips what is left
# rather than overrunning): the machine; the dataset ingest; training steps/s and samples/s per batch size
# for the legacy step (the same-run baseline), the plain step and the CUDA-graph step, with the ratios to the
# issue's reference figures and its targets; the 14,000-step recipe's fit time; the GPU tests (pytest); two
# processes on one GPU (a clear error, not an NCCL crash) or NCCL over two GPUs where there are two;
# torch.compile + graphs; the GPU recipe's fit, export and `nudge-train evaluate`.
# Where $OUT is set (the device tool), the log, the GPU recipe's model and its report are copied there.
# On a machine without CUDA it says so and runs the CPU parts briefly (a dry run of the script itself).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
START=$SECONDS
BUDGET_S=${BUDGET_S:-450}
WORK=${GPU_CHECK_WORK:-/tmp/nudge_gpu_check}
rm -rf "$WORK" && mkdir -p "$WORK"
if [ -n "${OUT:-}" ]; then
  exec > >(tee -a "$OUT/gpu_check.log") 2>&1
fi
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD

left() { echo $((BUDGET_S - (SECONDS - START))); }
stage() { # stage NAME MAX_SECONDS command...: run it time-boxed within what the budget has left
  local name=$1 max=$2 l rc began
  shift 2
  l=$(left)
  if ((l < 15)); then
    echo "== $name: SKIPPED (the ${BUDGET_S} s budget is spent)"
    return 0
  fi
  ((max > l)) && max=$l
  echo "== $name (at most ${max} s)"
  began=$SECONDS
  timeout --kill-after=10 "$max" "$@"
  rc=$?
  echo "== $name: exit $rc after $((SECONDS - began)) s$([ $rc = 124 ] && echo ' (TIMED OUT)')"
  return 0
}

# ---- packages the image lacks, from carried wheels -------------------------------------------------------
if ! python3 -c "import mido" 2>/dev/null; then
  if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$WORK/site" \
      .whl/*.whl || exit 2
    export PYTHONPATH=$PWD:$WORK/site
  else
    echo "mido is missing and there is no .whl/: run bench/gpu_prepare.sh where pip works, carry .whl"
    exit 2
  fi
fi

# ---- the machine -----------------------------------------------------------------------------------------
CUDA=$(python3 -c "import torch; print(int(torch.cuda.is_available()))")
GPUS=$(python3 -c "import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)")
python3 - <<'PY'
import os, platform, torch
print(f"machine: {platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, torch {torch.__version__}")
if torch.cuda.is_available():
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        print(f"  GPU {i}: {p.name}, {p.total_memory / 2**30:.0f} GiB, {p.multi_processor_count} SMs, "
              f"bf16 {torch.cuda.is_bf16_supported()}")
else:
    print("  no CUDA GPU: the CUDA stages are SKIPPED; this is a dry run of the script on the CPU")
PY
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

# ---- data ------------------------------------------------------------------------------------------------
GMD=.gpucheck/groove-midi-v1
[ -d "$GMD" ] || GMD=../shared/data/groove-midi-v1
if [ ! -d "$GMD" ]; then
  echo "no Groove MIDI Dataset at .gpucheck/ or ../shared/data/: run bench/gpu_prepare.sh and carry .gpucheck"
  exit 2
fi
DATA=$WORK/gmd_4bar.npz
stage "ingest $GMD" 90 python3 -m training.cli ingest midi "$GMD" -o "$DATA" --bars 4 --beat-type beat --no-progress
[ -f "$DATA" ] || { echo "ingest wrote nothing: stop"; exit 2; }

if [ "$CUDA" != 1 ]; then # the CPU dry run: each CPU stage briefly, every CUDA stage says it is skipped
  stage "speed, CPU (brief)" 120 python3 bench/bench_train.py --speed --device cpu --data "$DATA" --steps 10 --rounds 1 \
    --threads 1
  stage "tests (CUDA ones skip)" 200 python3 -m pytest -q -p no:cacheprovider tests/training/fitting/test_step.py tests/training/fitting/test_checkpoint.py
  echo "== speed on CUDA, recipe fit on CUDA, two processes on one GPU, compile, GPU recipe: SKIPPED (no CUDA GPU)"
  echo "== done in $((SECONDS - START)) s (dry run)"
  exit 0
fi

# ---- speed: steps/s and samples/s (issue targets: >= 300 steps/s at 128, >= 500 k samples/s) --------------
stage "speed: legacy, plain and CUDA-graph steps" 120 python3 bench/bench_train.py --speed --device cuda \
  --data "$DATA" --batch-sizes 128,1024,2048,4096,16384 --variants legacy,step,graphs --rounds 1 --steps 200

# ---- the 14,000-step recipe on the GPU (target <= 60 s) ---------------------------------------------------
stage "recipe fit (14,000 steps, batch 128)" 100 python3 bench/bench_train.py --recipe-fit 80 --device cuda \
  --data "$DATA" --out "$WORK/recipe"

# ---- pytest on a machine with a GPU ------------------------------------------------------------------------
stage "pytest: the step, training, DDP (gloo), checkpoints, on a GPU machine" 110 python3 -m pytest -q -x \
  -p no:cacheprovider tests/training/fitting/test_step.py tests/training/fitting/test_train.py tests/training/fitting/test_distributed.py tests/training/fitting/test_checkpoint.py

# ---- DDP on real GPUs --------------------------------------------------------------------------------------
if [ "$GPUS" -ge 2 ]; then
  stage "NCCL: torchrun, 2 processes on 2 GPUs" 60 python3 -m torch.distributed.run --nproc_per_node=2 \
    -m training.cli fit --data "$DATA" --out "$WORK/nccl" --steps 40 --device cuda --no-progress
else
  echo "== torchrun: 2 processes on $GPUS GPU: must be a clear error, not an NCCL crash"
  timeout 60 python3 -m torch.distributed.run --nproc_per_node=2 -m training.cli fit --data "$DATA" \
    --out "$WORK/two_on_one" --steps 5 --device auto --no-progress >"$WORK/two_on_one.log" 2>&1
  grep -m1 -o "fit: 2 training processes on this machine.*" "$WORK/two_on_one.log" ||
    { echo "NOT the clear error; the log's end:"; tail -20 "$WORK/two_on_one.log"; }
  grep -q -i "nccl" "$WORK/two_on_one.log" && echo "(the log mentions NCCL: look)"
fi

# ---- torch.compile + CUDA graphs ---------------------------------------------------------------------------
stage "speed: torch.compile + CUDA graphs" 70 python3 bench/bench_train.py --speed --device cuda --data "$DATA" \
  --batch-sizes 128 --variants compile --rounds 1 --steps 200

# ---- the GPU recipe: fit, export, evaluate (docs/gan.md) ---------------------------------------------------
GPU_RECIPE="--batch-size 2048 --steps 8000"
stage "GPU recipe fit ($GPU_RECIPE)" 70 python3 bench/bench_train.py --recipe-fit 55 --device cuda --data "$DATA" \
  --out "$WORK/gpu" --fit-args "$GPU_RECIPE"
if [ -f "$WORK/gpu/best.pt" ]; then
  stage "GPU recipe export (int8)" 30 python3 -m training.cli export "$WORK/gpu/best.pt" -o "$WORK/gpu_recipe.onnx" \
    --name gpu_recipe --int8
  stage "GPU recipe evaluate" 90 python3 -m training.cli evaluate "$WORK/gpu_recipe.onnx" --data "$DATA" \
    --out "$WORK/gpu_report"
fi
if [ -n "${OUT:-}" ]; then
  cp "$WORK/gpu_recipe.onnx" "$OUT/" 2>/dev/null
  cp "$WORK/gpu_report/metrics.json" "$OUT/gpu_report_metrics.json" 2>/dev/null
  cp "$WORK/gpu_report/README.md" "$OUT/gpu_report_README.md" 2>/dev/null
  cp "$WORK/gpu/metrics.jsonl" "$OUT/gpu_fit_metrics.jsonl" 2>/dev/null
fi
echo "== done in $((SECONDS - START)) s"
