#!/usr/bin/env bash
# Prepare what bench/gpu_check.sh needs on a GPU machine that reaches no network. Run it HERE (a machine
# with pip access), in the repository root; it writes only git-ignored folders:
#   .whl/       wheels of the runtime packages the GPU image lacks (mido, python-osc, python-rtmidi),
#               for CPython 3.12 on x86-64 Linux (the image's python3)
#   .gpucheck/  a copy of the Groove MIDI Dataset (9 MB) that gpu_check.sh ingests there
# Then run the check with both folders carried, e.g. with the device tool:
#   run(command="bash bench/gpu_check.sh", carry=[".whl", ".gpucheck"], timeout_s=540)
set -euo pipefail
cd "$(dirname "$0")/.."
GMD=${GMD:-../shared/data/groove-midi-v1}
rm -rf .whl && mkdir -p .whl
python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl \
  mido==1.3.3 python-osc==1.10.2 python-rtmidi==1.5.8
rm -rf .gpucheck && mkdir -p .gpucheck
cp -r "$GMD" .gpucheck/groove-midi-v1
du -sh .whl .gpucheck
