#!/usr/bin/env bash
# The convolutional and conditional families on a GPU, unattended and offline: the quick
# DCGAN and AC-GAN presets trained in full, then the full dcgan-mnist and acgan-mnist presets
# for a time limit each, scored on the test set; where each run's time went; one summary.
#
#   bash benchmarks/gpu_families.sh MNIST_DIR [OUT_DIR]
#
# As benchmarks/gpu_check.sh: MNIST_DIR holds mnist.pkl.gz, nothing is downloaded, the
# package is used from src/, every step has its own time limit and a failed step does not
# stop the others. A full preset stopped by its limit (Ctrl-C: exit 130 is the expected
# stop) is scored on its best checkpoint so far. GPU_FAMILIES_SECONDS (default 75) is each
# full preset's training time; the whole takes about 3 + 2 x that many minutes' worth of
# seconds plus the evaluations. DEVICE (default cuda) and GPU_FAMILIES_SET (KEY=VALUE
# settings for every run, space-separated, e.g. "data.train_subset=640 training.threads=1")
# let the script be tried on a CPU in a few minutes.
# OUT_DIR (default gpu-families) keeps each step's output and the summary, summary.md.
set -u
data=${1:?usage: bash benchmarks/gpu_families.sh MNIST_DIR [OUT_DIR]}
out=${2:-gpu-families}
train_seconds=${GPU_FAMILIES_SECONDS:-75}
device=${DEVICE:-cuda}
mkdir -p "$out"
export ADVNETS_DATA_DIR=$data PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH}
python=${PYTHON:-python3}
common=(--device "$device" --set logging.progress=false)
for setting in ${GPU_FAMILIES_SET:-}; do common+=(--set "$setting"); done
source "$(dirname "$0")/gpu_steps.sh"  # step NAME LIMIT_S COMMAND...

for preset in dcgan-mnist-quick acgan-mnist-quick; do
    step "$preset" 240 "$python" -m advnets train "$preset" --out "$out/$preset" "${common[@]}"
done
for preset in dcgan-mnist acgan-mnist; do
    step "$preset" $((train_seconds + 30)) bash -c "timeout -s INT $train_seconds $python -m \
        advnets train $preset --out $out/$preset ${common[*]} --no-eval; true"
    step "$preset-evaluate" 150 "$python" -m advnets evaluate "$out/$preset" --allow-unfinished
done
step costs 30 "$python" benchmarks/run_costs.py "$out"/dcgan-mnist-quick "$out"/acgan-mnist-quick \
    "$out"/dcgan-mnist "$out"/acgan-mnist

{
    echo "# The families on $device, $(date -u +%Y-%m-%d)"
    echo
    [ "$device" = cuda ] && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
    echo
    steps_table
    echo
    costs_section
    for preset in dcgan-mnist-quick acgan-mnist-quick; do
        echo
        echo "## $preset"
        grep -E "^finished|^  [A-Za-z]" "$out/$preset.log"
    done
    for preset in dcgan-mnist acgan-mnist; do
        echo
        echo "## $preset (stopped after $train_seconds s)"
        tail -n 8 "$out/$preset-evaluate.log"
    done
} >"$out/summary.md"
cat "$out/summary.md"
