#!/usr/bin/env bash
# Benchmark (issue 17): skip unchanged images.
#  1. A no-op `mpbuild push` of a 4-image project (every image unchanged: fingerprint,
#     read the tags, verify, move a new tag) vs the same push with `--rebuild` (warm
#     BuildKit cache: buildx runs, exports, mpbuild uploads and verifies), interleaved.
#  2. Fingerprinting a large context (10,000 files, 500 MB): the first time (every file
#     read: no stat cache) and again (the stat cache skips unchanged files),
#     interleaved. The first time is measured warm (the context's pages in the page
#     cache, as right after a checkout), and with BENCH_COLD=1 (root) also cold: the
#     page cache dropped before each run (this slows everything else on the machine
#     for a moment).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup_stack
N=${N:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
four=$work/four
mkdir -p "$four"
{
  echo "version: 1"
  echo "images:"
  for i in 1 2 3 4; do
    mkdir -p "$four/img$i"
    printf 'ARG BASE\nFROM ${BASE}\nCOPY app.txt /app.txt\nRUN echo "%s" > /img\n' "$i" >"$four/img$i/Dockerfile"
    echo "image $i" >"$four/img$i/app.txt"
    cat <<YAML
  img$i:
    repository: $MPBUILD_REGISTRY/bench/unchanged-$$-$i
    context: img$i
    tags: [latest, "\${GIT_SHA}"]
    build_args: {BASE: "$MPBUILD_TEST_BASE"}
    targets: [{service: ecs-fargate, arch: [X86_64, ARM64]}]
YAML
  done
} >"$four/mpbuild.yaml"
cat >"$work/push.sh" <<SH
#!/usr/bin/env bash
GIT_SHA=\$(date +%s%N) MPBUILD_WORK_DIR="$work/w" exec "$MPBUILD" -f "$four/mpbuild.yaml" push --progress plain "\$@"
SH
chmod +x "$work/push.sh"
"$work/push.sh" >/dev/null 2>&1   # the first push: builds, records the fingerprints
echo "1. four images, linux/amd64 + linux/arm64 each, a new tag per run"
interleave "$N" \
  "mpbuild push, nothing changed (no build)" "" "'$work/push.sh'" \
  "mpbuild push --rebuild (warm BuildKit cache)" "" "'$work/push.sh' --rebuild"
echo "   ratio unchanged/rebuild: $(ratio "${MEDIANS[0]}" "${MEDIANS[1]}")"
echo

echo "2. fingerprint of a 10,000-file, 500 MB context"
big=$work/big
mkdir -p "$big/src"
printf 'FROM scratch\nCOPY . /\n' >"$big/Dockerfile"
for d in $(seq 1 100); do
  mkdir -p "$big/src/d$d"
  for f in $(seq 1 100); do
    head -c 52428 /dev/urandom >"$big/src/d$d/f$f"
  done
done
du -sh "$big" | sed 's/^/   context: /'
cat >"$big/mpbuild.yaml" <<YAML
version: 1
images:
  big:
    repository: $MPBUILD_REGISTRY/bench/big-$$
    tags: [latest]
    targets: [{service: ecs-fargate}]
YAML
# `push --dry-run` fingerprints every image (and reads the registry once: no tag holds
# it). "first": a work dir of its own, emptied before each run (no stat cache).
dry() { MPBUILD_WORK_DIR="$1" "$MPBUILD" -f "$big/mpbuild.yaml" push --dry-run >/dev/null; }
export -f dry
export MPBUILD big
runs=(
  "first fingerprint, warm page cache (every file read)" "rm -rf '$work/wfirst'" "dry '$work/wfirst'"
  "again (stat cache, nothing changed)" "" "dry '$work/wbig'"
)
if [ "${BENCH_COLD:-0}" = 1 ] && [ -w /proc/sys/vm/drop_caches ]; then
  runs+=("first fingerprint, cold page cache (dropped)" \
    "rm -rf '$work/wcold'; sync; echo 3 > /proc/sys/vm/drop_caches" "dry '$work/wcold'")
else
  echo "   (cold page cache not measured: BENCH_COLD=1 as root drops it before each run)"
fi
interleave "$N" "${runs[@]}"
