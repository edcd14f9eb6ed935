#!/usr/bin/env bash
# shellcheck disable=SC2329  # the step functions run through `step` (bash -c NAME)
# The CUDA path, checked on one GPU in at most about 8 minutes (issue 14):
#
#   bash benchmarks/gpu_check.sh            # from the repository root, in its venv
#   PYTHON=/path/to/python bash benchmarks/gpu_check.sh
#
# It prints the GPU and its compute capability first, then runs each step with a label and a time
# limit, goes on after a failed step, and ends with a summary (exit 1 if any step failed):
#   1. the CUDA tests: no host sync per training step (auto precision, fp16 + GradScaler, fp32,
#      symmetric and constant padding), a resumed fused optimizer keeps its parameters' strides,
#      the images stay on the GPU across a batch-size change;
#   2. the quickstart trained on cuda for 2 epochs;
#   3. a run cancelled (SIGINT) after its first epoch, then resumed to its end;
#   4. eval of the quickstart run on cuda and with --device cpu (the accuracies must agree);
#   5. predict on a folder of images;
#   6. the GPU throughput rows at 224 px (mobilenet_v2 and resnet50, batch 64 and 128).
# Everything is written under a temporary folder (GPU_CHECK_DIR to keep it somewhere).
# GPU_CHECK_DEVICE=cpu runs steps 2-5 on the CPU instead, on tests/data/tiny.yaml rather than the
# quickstart (GPU_CHECK_PRESET): a check of this script itself on a machine without a GPU.
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$(pwd)
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x .venv/bin/python ]]; then PYTHON=$REPO/.venv/bin/python; else PYTHON=python3; fi
fi
WORK=${GPU_CHECK_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/hw3tui-gpu-check.XXXXXX")}
mkdir -p "$WORK"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
DEVICE=${GPU_CHECK_DEVICE:-cuda}
if [[ $DEVICE == cpu ]]; then PRESET=tests/data/tiny.yaml; else PRESET=presets/quickstart.yaml; fi
PRESET=${GPU_CHECK_PRESET:-$PRESET}
export NO_COLOR=1 PYTHON WORK DEVICE PRESET

hw3tui() { "$PYTHON" -m hw3tui "$@"; }

declare -a RESULTS=()
FAILED=0
START=$SECONDS

# step LABEL SECONDS FUNCTION: run one of the functions below in its own bash (so that it stops at
# its first failing command and `timeout` can end it), record its outcome and time.
step() {
    local label=$1 limit=$2 function=$3
    local began=$SECONDS
    echo
    echo "=== ${label} (at most ${limit} s)"
    if timeout --kill-after=10 "$limit" bash -c "set -euo pipefail; $function"; then
        RESULTS+=("ok    $(printf '%4d' $((SECONDS - began))) s  ${label}")
    else
        local code=$?
        FAILED=1
        RESULTS+=("FAIL  $(printf '%4d' $((SECONDS - began))) s  ${label} (exit ${code})")
    fi
}

echo "=== device"
"$PYTHON" - "$DEVICE" <<'EOF'
import sys

import torch

print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}")
if not torch.cuda.is_available():
    if sys.argv[1] == "cpu":
        print("no CUDA GPU: steps 1 and 6 are skipped, 2-5 run on the CPU")
        sys.exit(0)
    sys.exit("no CUDA GPU here: this script checks the CUDA path")
for index in range(torch.cuda.device_count()):
    major, minor = torch.cuda.get_device_capability(index)
    free, total = torch.cuda.mem_get_info(index)
    print(
        f"cuda:{index}: {torch.cuda.get_device_name(index)}, compute capability {major}.{minor}, "
        f"{total / 2**30:.0f} GiB ({free / 2**30:.0f} GiB free)"
    )
from hw3tui.engine.hardware.runtime import cuda_precision

print(f"precision auto -> {cuda_precision(torch.device('cuda', 0))}")
EOF
echo "work folder: $WORK"

cuda_tests() {
    "$PYTHON" -m pytest -q -rs -p no:cacheprovider tests/engine/test_fast_path.py \
        -k "cuda or gpu"
}
export -f hw3tui
export -f cuda_tests
[[ $DEVICE == cpu ]] || step "1. CUDA tests (host syncs, strides after resume, images on the GPU)" 150 cuda_tests

quickstart() {
    hw3tui run "$PRESET" --set runtime.device="$DEVICE" --set schedule.epochs=2 \
        --run-dir "$WORK/runs/quickstart"
}
export -f quickstart
step "2. $PRESET on $DEVICE, 2 epochs" 120 quickstart

cancel_and_resume() {
    local run=$WORK/runs/cancelled code=0
    "$PYTHON" -m hw3tui run "$PRESET" --set runtime.device="$DEVICE" \
        --set schedule.epochs=6 --run-dir "$run" &
    local pid=$!
    until grep -q '"epoch_end"' "$run/events.jsonl" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "the run ended before its first epoch did"
            return 1
        fi
        sleep 0.2
    done
    kill -INT "$pid"
    wait "$pid" || code=$?
    echo "after SIGINT: exit $code (130: cancelled)"
    [[ $code -eq 130 ]]
    hw3tui resume "$run"
    grep -q '"state": "done"' "$run/status.json"
}
export -f cancel_and_resume
step "3. cancel after the first epoch, then resume ($DEVICE)" 150 cancel_and_resume

evaluate_both() {
    local run=$WORK/runs/quickstart
    hw3tui eval "$run" --json >"$WORK/eval-cuda.json"
    hw3tui eval "$run" --device cpu --json >"$WORK/eval-cpu.json"
    "$PYTHON" - "$WORK/eval-cuda.json" "$WORK/eval-cpu.json" <<'EOF'
import json
import sys

cuda, cpu = (json.load(open(path)) for path in sys.argv[1:])
print(f"accuracy on {cuda['device']}: {cuda['accuracy']:.4f}; on {cpu['device']}: {cpu['accuracy']:.4f}")
# bf16/fp16 autocast on the GPU against fp32 on the CPU: a prediction or two may differ
sys.exit(0 if abs(cuda["accuracy"] - cpu["accuracy"]) <= 0.01 else 1)
EOF
}
export -f evaluate_both
step "4. eval on $DEVICE and with --device cpu" 90 evaluate_both

predict_folder() {
    local images=$WORK/predict-images
    "$PYTHON" - "$images" <<'EOF'
import sys
from pathlib import Path

import numpy as np
from PIL import Image

folder = Path(sys.argv[1])
folder.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)
for i in range(20):
    pixels = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(folder / f"{i}.png")
EOF
    hw3tui predict "$WORK/runs/quickstart" "$images" -o "$WORK/predictions.csv"
    [[ $(wc -l <"$WORK/predictions.csv") -eq 21 ]]
    head -3 "$WORK/predictions.csv"
}
export -f predict_folder
step "5. predict on a folder of 20 images ($DEVICE)" 60 predict_folder

throughput() {
    "$PYTHON" benchmarks/train_throughput.py --suite gpu --repeats 1 --markdown
}
export -f throughput
[[ $DEVICE == cpu ]] || step "6. GPU throughput rows, 224 px, batch 64 and 128" 240 throughput

echo
echo "=== summary ($((SECONDS - START)) s in all; work folder $WORK)"
printf '%s\n' "${RESULTS[@]}"
exit "$FAILED"
