#!/usr/bin/env bash
# Benchmark (issue 14): `mpbuild merge` — read the legs' records, assemble one index,
# push it by digest, verify it (index + 2 manifests + 2 configs), promote the tag —
# vs docker's recipe for the same job, `docker buildx imagetools create -t … LEG1 LEG2`
# followed by `docker buildx imagetools inspect --raw` (which checks nothing). Same two
# legs, same local registry, interleaved, N rounds (default 20) after a warm-up.
# The same work each time: before every timed run (untimed) the tag that run writes is
# pointed at another manifest, so mpbuild writes the index and moves the tag exactly as
# imagetools does, instead of finding it already in place.
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
# Point TAG of the repository at the amd64 leg's manifest (a tag move to undo).
cat >"$work/retag.sh" <<SH
#!/usr/bin/env bash
set -e
path=\${REPO#*/} leg=\${LEG1#*@}
body=\$(curl -fsS -H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json' "http://$MPBUILD_REGISTRY/v2/\$path/manifests/\$leg")
type=\$(printf '%s' "\$body" | sed -n 's/.*"mediaType": *"\([^"]*\)".*/\1/p' | head -1)
curl -fsS -X PUT -H "Content-Type: \$type" --data-binary "\$body" "http://$MPBUILD_REGISTRY/v2/\$path/manifests/\$1" >/dev/null
SH
chmod +x "$work/retag.sh"
export REPO LEG1
tag_digest() {
  curl -fsSI -H 'Accept: application/vnd.oci.image.index.v1+json' "http://$MPBUILD_REGISTRY/v2/${REPO#*/}/manifests/$1" |
    tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" {print $2}'
}
# The same work each time, checked once: the retag moves the tag away, and mpbuild merge
# moves it back.
"$work/retag.sh" latest
[ "$(tag_digest latest)" = "${LEG1#*@}" ] || { echo "bench: the retag did not move latest" >&2; exit 1; }
"$MPBUILD" merge --digests-dir "$work/digests" >/dev/null 2>&1
[ "$(tag_digest latest)" != "${LEG1#*@}" ] || { echo "bench: mpbuild merge did not move latest back" >&2; exit 1; }
interleave "$N" \
  "mpbuild merge (assemble + push index + verify + promote)" "'$work/retag.sh' latest" \
    "'$MPBUILD' merge --digests-dir '$work/digests'" \
  "imagetools create -t + imagetools inspect --raw" "'$work/retag.sh' it" \
    "docker buildx imagetools create -t '$REPO:it' '$LEG1' '$LEG2' && docker buildx imagetools inspect --raw '$REPO:it'" \
  "imagetools create -t alone" "'$work/retag.sh' it" \
    "docker buildx imagetools create -t '$REPO:it' '$LEG1' '$LEG2'"
echo
echo "ratio mpbuild merge / (imagetools create + inspect): $(ratio "${MEDIANS[0]}" "${MEDIANS[1]}")"
echo "ratio mpbuild merge / imagetools create alone:       $(ratio "${MEDIANS[0]}" "${MEDIANS[2]}")"
