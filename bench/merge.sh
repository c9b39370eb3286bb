#!/usr/bin/env bash
# Benchmark (issue 14): `mpbuild merge` — read the legs' records, assemble one index,
# push it by digest, verify it (index + 2 manifests + 2 configs), promote the tags —
# vs docker's recipe for the same job, `docker buildx imagetools create -t … LEG1 LEG2`
# followed by `docker buildx imagetools inspect --raw` (which checks nothing). Same two
# legs, same local registry, same run. N runs each (default 20), after one warm-up.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup_stack
N=${N:-20}
REPO=$MPBUILD_REGISTRY/bench/merge-$$
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/mpbuild.yaml" <<YAML
version: 1
images:
  app:
    repository: $REPO
    tags: [latest]
    attestations: true
    build_args: {BASE: "$MPBUILD_TEST_BASE"}
    targets:
      - service: ecs-fargate
        arch: [X86_64, ARM64]
YAML
printf 'ARG BASE\nFROM ${BASE}\nRUN echo bench > /bench\n' >"$work/Dockerfile"
cd "$work"
# The two legs (once): linux/amd64 and linux/arm64, each with its provenance attestation.
for p in linux/amd64 linux/arm64; do
  MPBUILD_WORK_DIR=$work/w-${p#linux/} "$MPBUILD" push --platform "$p" --digests-dir "$work/digests" --progress plain >/dev/null 2>&1
done
LEG1=$REPO@$(sed -n 's/.*"leg_digest": "\(.*\)".*/\1/p' "$work/digests/app@linux-amd64.json")
LEG2=$REPO@$(sed -n 's/.*"leg_digest": "\(.*\)".*/\1/p' "$work/digests/app@linux-arm64.json")
echo "legs: $LEG1 $LEG2 (each: a platform manifest + its attestation manifest)"
measure "mpbuild merge (assemble + push index + verify + promote)" "$N" \
  "$MPBUILD" merge --digests-dir "$work/digests"
MP=$LAST_MEDIAN
measure "imagetools create -t + imagetools inspect --raw" "$N" \
  sh -c "docker buildx imagetools create -t '$REPO:it' '$LEG1' '$LEG2' && docker buildx imagetools inspect --raw '$REPO:it'"
IT=$LAST_MEDIAN
measure "imagetools create -t alone" "$N" \
  docker buildx imagetools create -t "$REPO:it" "$LEG1" "$LEG2"
echo
echo "ratio mpbuild merge / (imagetools create + inspect): $(ratio "$MP" "$IT")"
echo "note: from the second run on, \`latest\` already points at the merged index, so mpbuild"
echo "reads the tag and writes nothing new; imagetools writes the index and the tag each time."
