#!/usr/bin/env bash
# The GPU check, unattended and offline: the CUDA tests, training throughput (fp32 and bf16,
# op by op and as CUDA graphs), seeds trained together, two short mnist-paper runs on real
# MNIST (one seed; seeds 0-3 together) with their costs, the final evaluation and one
# validation part by part, three epochs of PacGAN's ring setup; then one summary.
#
#   bash benchmarks/gpu_check.sh MNIST_DIR [OUT_DIR]
#
# MNIST_DIR holds mnist.pkl.gz (a copy of the dataset cache, ~/.cache/advnets); nothing is
# downloaded. Run from the repository root; the package is used from src/, so PyTorch,
# numpy, pyyaml, safetensors, tqdm, tensorboard, pillow, matplotlib and pytest must be
# installed. Every step has its own time limit, and a failed step does not stop the others;
# on an H200 the whole should take about 6 minutes (its parts' times there, added up).
# OUT_DIR (default gpu-check) keeps each step's output; the summary is printed last and
# kept in OUT_DIR/summary.md.
set -u
data=${1:?usage: bash benchmarks/gpu_check.sh MNIST_DIR [OUT_DIR]}
out=${2:-gpu-check}
train_seconds=${GPU_CHECK_TRAIN_SECONDS:-60}
mkdir -p "$out"
export ADVNETS_DATA_DIR=$data PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH}
python=${PYTHON:-python3}
source "$(dirname "$0")/gpu_steps.sh"  # step NAME LIMIT_S COMMAND...

step machine 30 bash -c "nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv;
    $python -c 'import torch; print(\"torch\", torch.__version__, \"cuda\", torch.version.cuda)'"
# every test file with CUDA tests (they skip without a GPU)
step tests 180 "$python" -m pytest -q -rA -s -p no:cacheprovider \
    $(grep -l "cuda.is_available" tests/test_*.py)
step throughput 150 "$python" benchmarks/gpu_throughput.py --steps 3000
step seeds 90 "$python" benchmarks/seeds_throughput.py --device cuda --seeds 1 2 4 8 16 --steps 300
# A run stopped by Ctrl-C after train_seconds (exit 130 is the expected stop), validating
# every 5 epochs as the preset does; then its costs and the final evaluation's time.
step train $((train_seconds + 30)) bash -c "timeout -s INT $train_seconds $python -m advnets \
    train mnist-paper --device cuda --out $out/run --set evaluation.patience=null \
    --set logging.progress=false --no-eval; true"
step seedrun $((train_seconds + 30)) bash -c "timeout -s INT $train_seconds $python -m advnets \
    train mnist-paper --seeds 0-3 --device cuda --out $out/seeds-run \
    --set evaluation.patience=null --set logging.progress=false --no-eval; true"
step costs 30 "$python" benchmarks/run_costs.py "$out/run" "$out"/seeds-run/seed-*
step validation 60 "$python" benchmarks/validation_cost.py --device cuda --steps 300 --repeats 3
step evaluate 150 "$python" -m advnets evaluate "$out/run" --allow-unfinished
# PacGAN's ring setup (packs of 2), three epochs of 1,000 updates: what a 400-epoch run costs
step pacgan 120 "$python" -m advnets toy ring --preset toy-ring-pacgan --set training.device=cuda \
    --set training.epochs=3 --json --out "$out/pacgan"

{
    echo "# GPU check, $(date -u +%Y-%m-%d)"
    echo
    cat "$out/machine.log"
    echo
    steps_table
    echo
    echo "## tests"
    grep -E "^(PASSED|FAILED|SKIPPED|ERROR)|relative difference|largest (weight|difference)|passed|failed" \
        "$out/tests.log"
    echo
    echo "## throughput"
    grep -E "^\||^device" "$out/throughput.log"
    echo
    echo "## seeds together (train --seeds)"
    grep -E "^ *(seeds|alone|[0-9]+) |^device" "$out/seeds.log"
    echo
    echo "## short mnist-paper runs: one seed, then seeds 0-3 together"
    cat "$out/costs.log"
    echo
    echo "## one validation, part by part"
    grep -E "^\||^mnist" "$out/validation.log"
    echo
    echo "## evaluate"
    tail -n 15 "$out/evaluate.log"
    echo
    echo "## PacGAN's ring setup, packs of 2 (toy-ring-pacgan), 3 epochs"
    "$python" -c "
import json, sys
run = json.load(open(sys.argv[1]))
rate = run['g_updates'] / run['train_seconds']
print(f\"{run['g_updates']} updates in {run['train_seconds']:.1f} s: {rate:.0f} updates/s, \"
      f\"a 400-epoch run (400,000 updates) {400000 / rate / 60:.1f} min\")" "$out/pacgan.log"
} >"$out/summary.md"
cat "$out/summary.md"
