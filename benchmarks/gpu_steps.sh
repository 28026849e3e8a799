# The step runner of the unattended GPU scripts (gpu_check.sh, gpu_families.sh, gpu_long.sh),
# sourced by them: each step runs with its own time limit, keeps its output in $out/NAME.log, and adds a
# row (name, exit status, seconds) to the array `steps`; a failed step does not stop the others.
steps=()

step() {  # step NAME LIMIT_S COMMAND...: run, keep its output, note status and time
    local name=$1 limit=$2 start=$SECONDS status
    shift 2
    echo "== $name" >&2
    timeout -s INT -k 15 "$limit" "$@" >"$out/$name.log" 2>&1
    status=$?
    steps+=("| $name | $status | $((SECONDS - start)) |")
    tail -n 25 "$out/$name.log" >&2
}

steps_table() {  # the rows of every step so far, under their header
    echo "| step | exit status | seconds |"
    echo "|---|---|---|"
    printf '%s\n' "${steps[@]}"
}

costs_section() {  # where each run's time went (benchmarks/run_costs.py's output in costs.log)
    echo "## where the time went"
    cat "$out/costs.log"
}
