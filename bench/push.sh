#!/usr/bin/env bash
# Benchmark (issues 5, 17), two comparisons in one run on the local stack:
#  1. `mpbuild push` (build + OCI export or push by digest + verify + tag promotion) vs
#     bare buildx for the same two-platform image, warm build cache, one change per run:
#     the overhead mpbuild adds for its guarantee, on the docker driver and on a remote
#     BuildKit builder. Interleaved: one run of each in turn, N rounds.
#     Which side stores the image in Docker's image store: on the docker driver,
#     `docker buildx build --push` builds into Docker's (containerd) image store and
#     pushes from there; mpbuild exports an OCI layout and uploads it, storing nothing
#     in Docker. So the docker-driver peer is measured twice: `--push` (does more: the
#     image store) and, like for like, `--output type=oci,tar=false` + `skopeo copy
#     --all oci:… docker://…` (a layout, uploaded; nothing in the image store). On a
#     remote builder neither side has an image store: buildx pushes by digest for both.
#  2. A 4-image project: one `mpbuild push` (one `buildx bake`, images in parallel) vs
#     four sequential `docker buildx build --push` runs, interleaved; every run rebuilds
#     (a build arg changes), each image has a 2 s RUN step on both platforms.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup_stack
N=${N:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. One image, warm cache, one change per run (a context file), on both driver paths:
#    the docker driver (mpbuild exports an OCI layout and uploads it) and a `remote`
#    BuildKit builder (buildx pushes by digest). Each run changes the file first, for
#    mpbuild and for bare buildx alike.
one=$work/one
mkdir -p "$one"
printf 'ARG BASE\nFROM ${BASE}\nRUN echo one > /one\nCOPY stamp /stamp\n' >"$one/Dockerfile"
date +%s%N >"$one/stamp"
project() { # BUILDER → mpbuild.yaml for that builder
  cat <<YAML
version: 1
${1:+builder: $1}
images:
  one:
    repository: $MPBUILD_REGISTRY/bench/one${1:+-$1}
    tags: [latest]
    attestations: false
    build_args: {BASE: "$MPBUILD_TEST_BASE"}
    targets: [{service: ecs-fargate, arch: [X86_64, ARM64]}]
YAML
}
project "" >"$one/mpbuild.yaml"
remote=bench-remote-$$
docker buildx create --name "$remote" --driver remote "$MPBUILD_BUILDKIT_ADDR" >/dev/null
trap 'docker buildx rm "$remote" >/dev/null 2>&1; rm -rf "$work"' EXIT
project "$remote" >"$one/mpbuild-remote.yaml"
cat >"$work/mp1.sh" <<SH
#!/usr/bin/env bash
date +%s%N >"$one/stamp"
MPBUILD_WORK_DIR="$work/mpw\$1" exec "$MPBUILD" -f "$one/\$2" push --progress plain
SH
cat >"$work/bare1.sh" <<SH
#!/usr/bin/env bash
date +%s%N >"$one/stamp"
exec docker buildx build -q \$1 --provenance=false --build-arg "BASE=$MPBUILD_TEST_BASE" \
  --platform linux/amd64,linux/arm64 -t "$MPBUILD_REGISTRY/bench/one-bare\$2:latest" --push "$one"
SH
cat >"$work/layout1.sh" <<SH
#!/usr/bin/env bash
set -e
date +%s%N >"$one/stamp"
rm -rf "$work/layout"
docker buildx build -q --provenance=false --build-arg "BASE=$MPBUILD_TEST_BASE" \
  --platform linux/amd64,linux/arm64 --output "type=oci,tar=false,dest=$work/layout" "$one"
exec skopeo copy --all --quiet --dest-tls-verify=false "oci:$work/layout" "docker://$MPBUILD_REGISTRY/bench/one-layout:latest"
SH
chmod +x "$work/mp1.sh" "$work/bare1.sh" "$work/layout1.sh"
echo "1a. one image, linux/amd64 + linux/arm64, warm cache, one change per run: docker driver"
interleave "$N" \
  "mpbuild push (build, OCI export, upload, verify, promote)" "" "'$work/mp1.sh' docker mpbuild.yaml" \
  "buildx --output type=oci + skopeo copy (like for like)" "" "'$work/layout1.sh'" \
  "docker buildx build --push (+ Docker's image store)" "" "'$work/bare1.sh' '' ''"
MP=${MEDIANS[0]} LAYOUT=${MEDIANS[1]} BARE=${MEDIANS[2]}
echo "   ratio mpbuild / layout + skopeo (neither stores in Docker): $(ratio "$MP" "$LAYOUT")"
echo "   ratio mpbuild / buildx --push (which also stores in Docker's image store): $(ratio "$MP" "$BARE")"
echo "1b. the same on a remote BuildKit builder: push by digest (no image store on either side)"
interleave "$N" \
  "mpbuild push (build, push by digest, verify, promote)" "" "'$work/mp1.sh' remote mpbuild-remote.yaml" \
  "docker buildx build --builder remote --push" "" "'$work/bare1.sh' '--builder $remote' '-remote'"
echo "   overhead ratio mpbuild/bare (push by digest): $(ratio "${MEDIANS[0]}" "${MEDIANS[1]}")"
echo

# 2. Four images, rebuilt every run (N4=0 skips this part).
[ "${N4:-3}" -gt 0 ] || exit 0
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
interleave "${N4:-3}" \
  "mpbuild push (one bake, 4 images)" "" "'$work/mp4.sh'" \
  "4 x docker buildx build --push, sequential" "" "'$work/seq4.sh'"
echo "   ratio mpbuild bake/sequential: $(ratio "${MEDIANS[0]}" "${MEDIANS[1]}")"
