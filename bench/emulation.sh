#!/usr/bin/env bash
# Benchmark (issue 25): where multi-platform build time goes, and what the change
# `mpbuild plan` suggests saves. examples/emulation's image built on the stack's default
# `docker` builder (x86-64: arm64 runs under QEMU), cold each time (`--no-cache`):
#  1. before.Dockerfile (the asset build in the image's stage) and after.Dockerfile (the
#     same work in a `FROM --platform=$BUILDPLATFORM` stage), each for linux/amd64
#     (native) and linux/arm64, interleaved. Goal: after the change, arm64 within 1.3×
#     of native amd64.
#  2. the report's arm64 total: `mpbuild push --platform linux/arm64` of each Dockerfile
#     (a leg: arm64 alone, its RUN made new by a NONCE build arg) against the wall time
#     of building arm64 alone, measured from the outside (`docker buildx build`, part 1).
#     Goal: within 10%.
# MPBUILD=path/to/mpbuild skips the release build.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
N=${N:-5}
setup_stack
EX=$ROOT/examples/emulation
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

build() { # DOCKERFILE PLATFORM
  docker buildx build --no-cache --platform "$2" --file "$EX/$1" \
    --build-arg BASE="$MPBUILD_TEST_BASE" --output type=cacheonly --progress quiet "$EX"
}

echo "1. cold builds, docker builder ($(docker buildx inspect | sed -n 's/^Platforms: *//p' | cut -d, -f1) native)"
interleave "$N" \
  "before.Dockerfile linux/amd64 (native)" "" "build before.Dockerfile linux/amd64" \
  "before.Dockerfile linux/arm64 (QEMU)" "" "build before.Dockerfile linux/arm64" \
  "after.Dockerfile  linux/amd64 (native)" "" "build after.Dockerfile linux/amd64" \
  "after.Dockerfile  linux/arm64 (asset stage native)" "" "build after.Dockerfile linux/arm64"
before_amd=${MEDIANS[0]} before_arm=${MEDIANS[1]} after_amd=${MEDIANS[2]} after_arm=${MEDIANS[3]}
echo "   before: arm64/amd64 $(ratio "$before_arm" "$before_amd")  (QEMU's cost)"
echo "   after:  arm64/amd64 $(ratio "$after_arm" "$after_amd")  (goal ≤ 1.30)"
echo "   arm64 before/after $(ratio "$before_arm" "$after_arm")"

echo "2. the report's arm64 total vs the wall time of the same build, measured around buildx"
# mpbuild runs a `docker` that is a script as such: this one times each `buildx build`
# it is asked for (from before the docker CLI starts to after buildx exits) and runs the
# real docker.
mkdir -p "$TMP/bin"
real_docker=$(command -v docker)
printf '%s\n' '#!/bin/sh' \
  'if [ "$1" = buildx ] && [ "$2" = build ]; then' \
  "  s=\$(date +%s%N); '$real_docker' \"\$@\"; rc=\$?; e=\$(date +%s%N)" \
  "  echo \$(( (e - s) / 1000 )) >>'$TMP/walls'; exit \$rc" \
  'fi' \
  "exec '$real_docker' \"\$@\"" >"$TMP/bin/docker"
chmod +x "$TMP/bin/docker"
leg() { # IMAGE → one arm64 leg: "TOTAL_US WALL_US STEPS_US" appended to $TMP/IMAGE.pairs
  rm -f "$TMP/walls"
  PATH=$TMP/bin:$PATH NONCE=$(date +%s%N) MPBUILD_WORK_DIR=$TMP/work "$MPBUILD" -f "$EX/mpbuild.yaml" \
    push --image "$1" --platform linux/arm64 --digests-dir "$TMP/legs" --format json --progress quiet \
    >"$TMP/$1.json"
  echo "$(jq -r '.images[0].timing[0].total_s * 1000000 | floor' "$TMP/$1.json") $(cat "$TMP/walls") $(jq -r '.images[0].timing[0] | (.native_s + .emulated_s) * 1000000 | floor' "$TMP/$1.json")" >>"$TMP/$1.pairs"
}
for _ in $(seq 1 "$N"); do leg before; leg after; done
for image in before after; do
  # shellcheck disable=SC2046 # one argument per run
  report "$image.Dockerfile: the report's linux/arm64 total" $(awk '{ print $1 }' "$TMP/$image.pairs")
  total=$REPORTED
  # shellcheck disable=SC2046
  report "$image.Dockerfile: buildx building linux/arm64 alone (wall)" $(awk '{ print $2 }' "$TMP/$image.pairs")
  wall=$REPORTED
  # shellcheck disable=SC2046
  report "$image.Dockerfile: of which in build steps (native_s + emulated_s)" $(awk '{ print $3 }' "$TMP/$image.pairs")
  echo "   $image: total/wall $(ratio "$total" "$wall") (goal 0.90–1.10); in steps/wall $(ratio "$REPORTED" "$wall")"
done
