#!/usr/bin/env bash
# Benchmark (issue 4): `mpbuild verify` — the index, then each platform's manifest and
# image config, checked against the targets — vs `skopeo inspect --raw` and
# `docker buildx imagetools inspect --raw`, which fetch the index only. Same image, same
# local registry, same run: N rounds (default 30), the four commands in turn in each, so
# the machine's load changes hit them alike.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup_stack
N=${N:-30}
REPO=$MPBUILD_REGISTRY/bench/verify
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
printf 'FROM %s\nRUN echo bench > /bench\n' "$MPBUILD_TEST_BASE" >"$ctx/Dockerfile"
docker buildx build -q --provenance=mode=min --platform linux/amd64,linux/arm64 -t "$REPO:latest" --push "$ctx" >/dev/null
REF=$REPO:latest
echo "image: $REF (linux/amd64 + linux/arm64 + 2 attestation manifests)"
interleave "$N" \
  "mpbuild verify (index + 2 manifests + 2 configs)" "" \
  "'$MPBUILD' verify '$REF' --target apprunner --target ecs-fargate:ARM64" \
  "mpbuild verify --deep (+ entrypoint ELF from layers)" "" \
  "'$MPBUILD' verify '$REF' --target apprunner --target ecs-fargate:ARM64 --deep" \
  "skopeo inspect --raw (index only)" "" \
  "skopeo inspect --raw --tls-verify=false 'docker://$REF'" \
  "docker buildx imagetools inspect --raw (index only)" "" \
  "docker buildx imagetools inspect --raw '$REF'"
MP=${MEDIANS[0]} DEEP=${MEDIANS[1]} SK=${MEDIANS[2]} IT=${MEDIANS[3]}
echo
echo "ratio mpbuild/skopeo:      $(ratio "$MP" "$SK")"
echo "ratio mpbuild/imagetools:  $(ratio "$MP" "$IT")"
echo "ratio mpbuild --deep/skopeo: $(ratio "$DEEP" "$SK")"
