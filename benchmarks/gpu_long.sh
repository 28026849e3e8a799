#!/usr/bin/env bash
# Long runs of the paper's model on a GPU, unattended and offline: several seeds of
# mnist-paper on the paper's own schedule, side by side, each for a time limit; then each
# seed's best checkpoint scored on the test set, Table 1 from them, and the best seed's
# generator in the shipped format; one summary.
#
#   bash benchmarks/gpu_long.sh MNIST_DIR [OUT_DIR]
#
# As benchmarks/gpu_check.sh: MNIST_DIR holds mnist.pkl.gz, nothing is downloaded, the
# package is used from src/, every step has its own time limit and a failed step does not
# stop the others. A run stopped by its limit (Ctrl-C: exit 130 is the expected stop) keeps
# its best checkpoint so far. GPU_LONG_SEEDS (default "0 1 2") are trained at once, one
# process each, for GPU_LONG_SECONDS (default 420) of training; patience is off (the
# reference ran until stopped), validation every 5 epochs as the preset, the last checkpoint
# every 50 epochs (a checkpoint costs about half an epoch on a GPU). DEVICE (default cuda)
# and GPU_LONG_SET (KEY=VALUE settings for every run, space-separated) let the script be
# tried on a CPU in a few minutes.
# OUT_DIR (default gpu-long) keeps each step's output; what is small enough to bring back
# is gathered in OUT_DIR/back: summary.md, table1.csv, runs.tar.gz (each seed's run
# directory without checkpoints, TensorBoard and sample grids) and the best seed's generator
# and model card (scripts/ship_generator.py's files).
set -u
data=${1:?usage: bash benchmarks/gpu_long.sh MNIST_DIR [OUT_DIR]}
out=${2:-gpu-long}
seeds=${GPU_LONG_SEEDS:-0 1 2}
train_seconds=${GPU_LONG_SECONDS:-420}
device=${DEVICE:-cuda}
mkdir -p "$out/back"
export ADVNETS_DATA_DIR=$data PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH}
python=${PYTHON:-python3}
common=(--device "$device" --set logging.progress=false --set evaluation.patience=null
    --set training.checkpoint_every_epochs=50)
for setting in ${GPU_LONG_SET:-}; do common+=(--set "$setting"); done
source "$(dirname "$0")/gpu_steps.sh"  # step NAME LIMIT_S COMMAND...

runs=()
for seed in $seeds; do runs+=("$out/seed-$seed"); done
# all seeds at once, each stopped by Ctrl-C after train_seconds
step train $((train_seconds + 60)) bash -c "
    for seed in $seeds; do
        timeout -s INT $train_seconds $python -m advnets train mnist-paper --set seed=\$seed \
            --set training.epochs=5757 --out $out/seed-\$seed ${common[*]} --no-eval \
            >$out/train-\$seed.log 2>&1 &
    done
    wait; true"
# each seed's best checkpoint scored on the test set (advnets evaluate, by table1), then the table
step table1 300 "$python" -m advnets table1 "${runs[@]}" --allow-unfinished \
    --csv "$out/back/table1.csv"
step costs 30 "$python" benchmarks/run_costs.py "${runs[@]}"
# the generator of the seed with the best test Parzen score, in the shipped format
best=$("$python" -c "
import json, os, sys
scores = {run: json.load(open(run + '/evaluation.json'))['parzen']['test_ll'] for run in sys.argv[1:]
          if os.path.isfile(run + '/evaluation.json')}
print(max(scores, key=scores.get) if scores else '')" "${runs[@]}")
if [ -n "$best" ]; then
    step ship 180 "$python" scripts/ship_generator.py "$best" --name mnist-paper --preset mnist-paper
    cp src/advnets/evaluation/generator_mnist_paper.safetensors \
        src/advnets/evaluation/generator_mnist_paper.json "$out/back/" 2>/dev/null
fi
tar czf "$out/back/runs.tar.gz" --exclude=checkpoints --exclude=tensorboard --exclude=samples \
    -C "$out" $(for seed in $seeds; do echo "seed-$seed"; done) 2>/dev/null

{
    echo "# Long mnist-paper runs on $device, $(date -u +%Y-%m-%d)"
    echo
    [ "$device" = cuda ] && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
    echo
    echo "seeds $seeds, $train_seconds s of training each, side by side"
    echo
    steps_table
    echo
    costs_section
    echo
    echo "## Table 1"
    cat "$out/table1.log"
    echo
    echo "## the validation estimate over epochs (every 10th validation, and the last)"
    for run in "${runs[@]}"; do
        echo "$run: $(grep '"valid_parzen"' "$run/metrics.jsonl" | "$python" -c "
import json, sys
records = [json.loads(line) for line in sys.stdin]
shown = records[9::10] + records[-1:]
print(', '.join(f\"{r['epoch']}: {r['ll']:.1f}\" for r in shown))")"
    done
    echo
    echo "shipped from: ${best:-none}"
} >"$out/back/summary.md"
cat "$out/back/summary.md"
