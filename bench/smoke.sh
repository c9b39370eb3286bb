#!/usr/bin/env bash
# Benchmark (issue 16): what the smoke run adds per platform, on the `docker` builder.
#  1. a trivial command (`true`): the fixed cost of one smoke run (a generated build:
#     resolve REPO@DIGEST, a RUN step, no export), native amd64 vs arm64 under QEMU.
#  2. a CPU-bound command (a shell loop of 100,000 iterations): emulation's slowdown.
#  3. the peer: `docker run --rm --platform P` of the same image (already pulled), which
#     runs only on the local daemon.
# MPBUILD=path/to/mpbuild skips the release build (the time is buildx's, not mpbuild's).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
N=${N:-5}
if [ -n "${MPBUILD:-}" ]; then
  eval "$("$ROOT/scripts/stack" env)"
else
  setup_stack
fi
ref=$MPBUILD_TEST_BASE
loop='i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done'
for p in linux/amd64 linux/arm64; do
  measure "smoke $p: true" "$N" "$MPBUILD" smoke "$ref" --platform "$p" -- true
  measure "smoke $p: 100k-iteration shell loop" "$N" "$MPBUILD" smoke "$ref" --platform "$p" -- sh -c "$loop"
  docker pull -q --platform "$p" "$ref" >/dev/null
  measure "docker run --platform $p: true (peer)" "$N" docker run --rm --platform "$p" "$ref" true
  measure "docker run --platform $p: 100k-iteration shell loop (peer)" "$N" docker run --rm --platform "$p" "$ref" sh -c "$loop"
done
