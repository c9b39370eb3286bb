#!/usr/bin/env bash
# Benchmark (issue 17): skip unchanged images.
#  1. A no-op `mpbuild push` of a 4-image project (every image unchanged: fingerprint,
#     read the tags, verify, move a new tag) vs the same push with `--rebuild` (warm
#     BuildKit cache: buildx runs, exports, mpbuild uploads and verifies). Same run.
#  2. Fingerprinting a large context (10,000 files, 500 MB): the first time (every file
#     read) and again (the stat cache skips unchanged files).
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
measure "mpbuild push, nothing changed (no build)" "$N" "$work/push.sh"
NOOP=$LAST_MEDIAN
measure "mpbuild push --rebuild (warm BuildKit cache)" "$N" "$work/push.sh" --rebuild
REB=$LAST_MEDIAN
echo "   ratio unchanged/rebuild: $(ratio "$NOOP" "$REB")"
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
# `push --dry-run` fingerprints every image (and reads the registry once: no tag holds it).
dry() { MPBUILD_WORK_DIR="$work/wbig" "$MPBUILD" -f "$big/mpbuild.yaml" push --dry-run >/dev/null; }
rm -rf "$work/wbig"
s=$(date +%s%N); dry; e=$(date +%s%N)
printf '   first fingerprint (every file read):   %8.1f ms\n' "$(echo "($e - $s) / 1000000" | bc -l)"
measure "   again (stat cache, nothing changed)" "$N" dry
