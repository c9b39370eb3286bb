#!/usr/bin/env bash
# Benchmark (issue 4): `mpbuild verify` — the index, then each platform's manifest and
# image config, checked against the targets — vs `skopeo inspect --raw` and
# `docker buildx imagetools inspect --raw`, which fetch the index only. Same image, same
# local registry, same run. N runs each (default 30), after one warm-up.
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
measure "mpbuild verify (index + 2 manifests + 2 configs)" "$N" \
  "$MPBUILD" verify "$REF" --target apprunner --target ecs-fargate:ARM64
MP=$LAST_MEDIAN
measure "mpbuild verify --deep (+ entrypoint ELF from layers)" "$N" \
  "$MPBUILD" verify "$REF" --target apprunner --target ecs-fargate:ARM64 --deep
DEEP=$LAST_MEDIAN
measure "skopeo inspect --raw (index only)" "$N" \
  skopeo inspect --raw --tls-verify=false "docker://$REF"
SK=$LAST_MEDIAN
measure "docker buildx imagetools inspect --raw (index only)" "$N" \
  docker buildx imagetools inspect --raw "$REF"
IT=$LAST_MEDIAN
echo
echo "ratio mpbuild/skopeo:      $(ratio "$MP" "$SK")"
echo "ratio mpbuild/imagetools:  $(ratio "$MP" "$IT")"
echo "ratio mpbuild --deep/skopeo: $(ratio "$DEEP" "$SK")"
