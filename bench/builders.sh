#!/usr/bin/env bash
# Benchmark (issue 8). On this machine the "native" arm64 node is a BuildKit daemon on
# the same x86-64 host, so its arm64 RUN steps are emulated by QEMU too: what this
# measures is the mechanism and its overhead, not Graviton speed.
#  1. builder setup: `mpbuild builder up` creating a two-node remote builder, then again
#     (nothing to change).
#  2. the same arm64 build with a CPU-bound RUN loop: the local `docker` builder vs the
#     arm64 node of the declared builder.
#  3. a two-platform build: two nodes (one per platform, in parallel) vs one node
#     serving both platforms.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup_stack
N=${N:-3}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT
daemon() { # name platform
  cat >"$work/$1.toml" <<TOML
[worker.oci]
  enabled = true
[worker.containerd]
  enabled = false
[registry."$MPBUILD_REGISTRY"]
  http = true
  insecure = true
TOML
  "$MPBUILD_BUILDKITD" --config "$work/$1.toml" --addr "unix://$work/$1.sock" --root "$work/$1" \
    --oci-worker-platform "$2" >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do [ -S "$work/$1.sock" ] && return; sleep 0.1; done
}
daemon x86 linux/amd64
daemon arm linux/arm64
export DOCKER_CONFIG=$work/docker-config
mkdir -p "$DOCKER_CONFIG/cli-plugins"
ln -s "$(readlink -f "$MPBUILD_STACK_DIR/docker-config/cli-plugins/docker-buildx")" "$DOCKER_CONFIG/cli-plugins/docker-buildx"
printf 'ARG BASE\nFROM ${BASE}\nARG BUST\nRUN echo $BUST; i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done\n' >"$work/Dockerfile"
cat >"$work/mpbuild.yaml" <<YAML
version: 1
builder:
  name: bench-native
  nodes:
    - platforms: [linux/amd64]
      endpoint: unix://$work/x86.sock
    - platforms: [linux/arm64]
      endpoint: unix://$work/arm.sock
images:
  app:
    repository: $MPBUILD_REGISTRY/bench/native
    tags: [latest]
    targets: [{service: ecs-fargate, arch: [X86_64, ARM64]}]
YAML

echo "1. builder setup"
s=$(date +%s%N); "$MPBUILD" -f "$work/mpbuild.yaml" builder up >/dev/null; e=$(date +%s%N)
printf '%-58s %9.1f ms\n' "mpbuild builder up (create, 2 nodes)" "$(echo "($e - $s) / 1000000" | bc -l)"
interleave "$N" "mpbuild builder up (already matches)" "" "'$MPBUILD' -f '$work/mpbuild.yaml' builder up"
docker buildx create --name bench-one --driver remote --platform linux/amd64,linux/arm64 "$MPBUILD_BUILDKIT_ADDR" >/dev/null

build() { # builder platforms
  docker buildx build -q --builder "$1" --platform "$2" --build-arg "BASE=$MPBUILD_TEST_BASE" \
    --build-arg "BUST=$(date +%s%N)" "$work" >/dev/null 2>&1
}
export -f build
export work MPBUILD_TEST_BASE
echo "2. one arm64 build, CPU-bound RUN loop (200k iterations of busybox sh)"
local_cfg="DOCKER_CONFIG=$MPBUILD_STACK_DIR/docker-config"
interleave "$N" \
  "local docker builder (QEMU)" "" "$local_cfg build default linux/arm64" \
  "arm64 node of the declared builder (QEMU here too)" "" "build bench-native linux/arm64" \
  "the same loop for linux/amd64 (native, for scale)" "" "$local_cfg build default linux/amd64"
A=${MEDIANS[0]} B=${MEDIANS[1]} X=${MEDIANS[2]}
echo "   ratio node/local: $(ratio "$B" "$A")"
echo "   QEMU cost of the loop, arm64/amd64: $(ratio "$A" "$X") (what a real native arm64 node saves)"
echo "3. a two-platform build (linux/amd64 + linux/arm64), same RUN loop"
interleave "$N" \
  "two nodes, one per platform (in parallel)" "" "build bench-native linux/amd64,linux/arm64" \
  "one node serving both platforms" "" "build bench-one linux/amd64,linux/arm64"
echo "   ratio two-node/one-node: $(ratio "${MEDIANS[0]}" "${MEDIANS[1]}")"
docker buildx rm bench-native >/dev/null 2>&1 || true
docker buildx rm bench-one >/dev/null 2>&1 || true
