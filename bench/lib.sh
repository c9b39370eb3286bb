# Shared helpers for the benchmarks: run a command N times, report the median and
# min wall time in milliseconds. Sourced by bench/*.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

setup_stack() {
  "$ROOT/scripts/stack" up >&2
  eval "$("$ROOT/scripts/stack" env)"
  (cd "$ROOT" && cargo build --release --locked -q)
  MPBUILD=$ROOT/target/release/mpbuild
}

# measure LABEL N CMD... → sets LAST_MEDIAN (ms) and prints a row.
measure() {
  local label=$1 n=$2; shift 2
  local times=()
  "$@" >/dev/null 2>&1 || { echo "bench: '$label' failed: $*" >&2; "$@" >&2 || true; exit 1; }
  for _ in $(seq 1 "$n"); do
    local s e
    s=$(date +%s%N)
    "$@" >/dev/null 2>&1
    e=$(date +%s%N)
    times+=($(( (e - s) / 1000 )))
  done
  local sorted; sorted=$(printf '%s\n' "${times[@]}" | sort -n)
  local median min
  median=$(printf '%s\n' "$sorted" | awk -v n="$n" 'NR == int((n + 1) / 2) {print}')
  min=$(printf '%s\n' "$sorted" | head -n1)
  LAST_MEDIAN=$median
  printf '%-58s %9.1f ms median %9.1f ms min  (n=%d)\n' "$label" "$(echo "$median / 1000" | bc -l)" "$(echo "$min / 1000" | bc -l)" "$n"
}

ratio() { echo "scale=2; $1 / $2" | bc -l; }

# interleave N LABEL1 CMD1 [LABEL2 CMD2 …] → runs the commands (shell strings) in
# turn, N rounds after one warm-up round, so a change in the machine's load hits every
# command alike; prints a row per command and sets MEDIANS (ms, in order).
interleave() {
  local n=$1; shift
  local labels=() cmds=()
  while [ $# -gt 0 ]; do labels+=("$1"); cmds+=("$2"); shift 2; done
  local k=${#cmds[@]} i r
  local -a times
  for i in $(seq 0 $((k - 1))); do
    bash -c "${cmds[$i]}" >/dev/null 2>&1 || { echo "bench: '${labels[$i]}' failed: ${cmds[$i]}" >&2; bash -c "${cmds[$i]}" >&2 || true; exit 1; }
    times[$i]=""
  done
  for r in $(seq 1 "$n"); do
    for i in $(seq 0 $((k - 1))); do
      local s e
      s=$(date +%s%N)
      eval "${cmds[$i]}" >/dev/null 2>&1
      e=$(date +%s%N)
      times[$i]="${times[$i]} $(( (e - s) / 1000 ))"
    done
  done
  MEDIANS=()
  for i in $(seq 0 $((k - 1))); do
    local sorted median min
    sorted=$(printf '%s\n' ${times[$i]} | sort -n)
    median=$(printf '%s\n' "$sorted" | awk -v n="$n" 'NR == int((n + 1) / 2) {print}')
    min=$(printf '%s\n' "$sorted" | head -n1)
    MEDIANS+=("$median")
    printf '%-58s %9.1f ms median %9.1f ms min  (n=%d, interleaved)\n' "${labels[$i]}" "$(echo "$median / 1000" | bc -l)" "$(echo "$min / 1000" | bc -l)" "$n"
  done
}
