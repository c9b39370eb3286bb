# Shared helpers for the benchmarks. Sourced by bench/*.sh. Every timed comparison goes
# through `interleave`: the commands run in turn, round after round, so a change in the
# machine's load hits each of them alike; each prints its median and spread.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

setup_stack() {
  "$ROOT/scripts/stack" up >&2
  eval "$("$ROOT/scripts/stack" env)"
  if [ -z "${MPBUILD:-}" ]; then
    (cd "$ROOT" && cargo build --release --locked -q)
    MPBUILD=$ROOT/target/release/mpbuild
  fi
  echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) on $(nproc) cores — ratios in one run are what count" >&2
}

ratio() { echo "scale=2; $1 / $2" | bc -l; }

ms() { echo "scale=1; $1 / 1000" | bc -l; }

# interleave N  LABEL PREP CMD  [LABEL PREP CMD …]
# Runs each CMD (a shell string) once untimed (a warm-up, which must succeed), then N
# rounds of every CMD in turn. PREP (a shell string, may be empty) runs untimed before
# each timed CMD: what puts the registry or the disk in the same state for every run.
# Prints, per command, the median and the spread (min–max, and the middle half), and
# sets MEDIANS (µs, in order).
interleave() {
  local n=$1; shift
  local labels=() preps=() cmds=()
  while [ $# -gt 0 ]; do labels+=("$1"); preps+=("$2"); cmds+=("$3"); shift 3; done
  local k=${#cmds[@]} i r
  local -a times
  for i in $(seq 0 $((k - 1))); do
    if ! { eval "${preps[$i]:-:}" && eval "${cmds[$i]}"; } >/dev/null 2>&1; then
      echo "bench: '${labels[$i]}' failed: ${cmds[$i]}" >&2
      eval "${cmds[$i]}" >&2 || true
      exit 1
    fi
    times[$i]=""
  done
  for r in $(seq 1 "$n"); do
    for i in $(seq 0 $((k - 1))); do
      local s e
      eval "${preps[$i]:-:}" >/dev/null 2>&1
      s=$(date +%s%N)
      eval "${cmds[$i]}" >/dev/null 2>&1
      e=$(date +%s%N)
      times[$i]="${times[$i]} $(( (e - s) / 1000 ))"
    done
  done
  MEDIANS=()
  for i in $(seq 0 $((k - 1))); do
    report "${labels[$i]}" ${times[$i]}
    MEDIANS+=("$REPORTED")
  done
}

# report LABEL TIME… (µs) → one row: the median and the spread (min–max, the middle
# half); sets REPORTED (the median, µs).
report() {
  local label=$1; shift
  local median min max q1 q3
  read -r median min max q1 q3 < <(printf '%s\n' "$@" | sort -n | awk '
    { v[NR] = $1 }
    END { printf "%d %d %d %d %d\n", v[int((NR + 1) / 2)], v[1], v[NR], v[int((NR + 3) / 4)], v[int((3 * NR + 3) / 4)] }')
  REPORTED=$median
  printf '%-58s %9.1f ms median  [%.1f–%.1f ms, middle half %.1f–%.1f]  (n=%d, interleaved)\n' \
    "$label" "$(ms "$median")" "$(ms "$min")" "$(ms "$max")" "$(ms "$q1")" "$(ms "$q3")" "$#"
}
