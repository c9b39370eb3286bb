#!/usr/bin/env bash
# Benchmark (issue 5), two comparisons in one run on the local stack (docker driver):
#  1. `mpbuild push` (build + OCI export + upload + verify + tag promotion) vs the bare
#     `docker buildx build --push` for the same two-platform image, warm build cache:
#     the overhead mpbuild adds for its guarantee.
#  2. A 4-image project: one `mpbuild push` (one `buildx bake`, images in parallel) vs
#     four sequential `docker buildx build --push` runs; every run rebuilds (a build arg
#     changes), each image has a 2 s RUN step on both platforms.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup_stack
N=${N:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. One image, warm cache.
one=$work/one
mkdir -p "$one"
printf 'ARG BASE\nFROM ${BASE}\nRUN echo one > /one\n' >"$one/Dockerfile"
cat >"$one/mpbuild.yaml" <<YAML
version: 1
images:
  one:
    repository: $MPBUILD_REGISTRY/bench/one
    tags: [latest]
    build_args: {BASE: "$MPBUILD_TEST_BASE"}
    targets: [{service: apprunner}, {service: apple-silicon}]
YAML
echo "1. one image, linux/amd64 + linux/arm64, warm cache"
measure "mpbuild push (build, upload, verify, promote)" "$N" \
  env MPBUILD_WORK_DIR="$work/mpw" "$MPBUILD" -f "$one/mpbuild.yaml" push --progress plain
MP=$LAST_MEDIAN
measure "docker buildx build --push" "$N" \
  docker buildx build -q --provenance=false --build-arg "BASE=$MPBUILD_TEST_BASE" \
    --platform linux/amd64,linux/arm64 -t "$MPBUILD_REGISTRY/bench/one-bare:latest" --push "$one"
BARE=$LAST_MEDIAN
echo "   overhead ratio mpbuild/bare: $(ratio "$MP" "$BARE")"
echo

# 2. Four images, rebuilt every run.
four=$work/four
mkdir -p "$four"
{
  echo "version: 1"
  echo "images:"
  for i in 1 2 3 4; do
    mkdir -p "$four/img$i"
    printf 'ARG BASE\nFROM ${BASE}\nARG BUST\nRUN sleep 2 && echo "%s $BUST" > /img\n' "$i" >"$four/img$i/Dockerfile"
    cat <<YAML
  img$i:
    repository: $MPBUILD_REGISTRY/bench/img$i
    context: img$i
    tags: [latest]
    build_args: {BASE: "$MPBUILD_TEST_BASE", BUST: "\${BUST}"}
    targets: [{service: ecs-fargate, arch: [X86_64, ARM64]}]
YAML
  done
} >"$four/mpbuild.yaml"
cat >"$work/mp4.sh" <<SH
#!/usr/bin/env bash
BUST=\$(date +%s%N) MPBUILD_WORK_DIR="$work/mpw4" exec "$MPBUILD" -f "$four/mpbuild.yaml" push --progress plain
SH
cat >"$work/seq4.sh" <<SH
#!/usr/bin/env bash
set -e
bust=\$(date +%s%N)
for i in 1 2 3 4; do
  docker buildx build -q --provenance=false --build-arg "BASE=$MPBUILD_TEST_BASE" --build-arg "BUST=\$bust" \
    --platform linux/amd64,linux/arm64 -t "$MPBUILD_REGISTRY/bench/seq\$i:latest" --push "$four/img\$i"
done
SH
chmod +x "$work/mp4.sh" "$work/seq4.sh"
echo "2. four images, linux/amd64 + linux/arm64 each, a 2 s RUN step, rebuilt every run"
measure "mpbuild push (one bake, 4 images)" "${N4:-3}" "$work/mp4.sh"
MP4=$LAST_MEDIAN
measure "4 x docker buildx build --push, sequential" "${N4:-3}" "$work/seq4.sh"
SEQ4=$LAST_MEDIAN
echo "   ratio mpbuild bake/sequential: $(ratio "$MP4" "$SEQ4")"
