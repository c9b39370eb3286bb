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
setup_stack
ref=$MPBUILD_TEST_BASE
loop='i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done'
for p in linux/amd64 linux/arm64; do
  docker pull -q --platform "$p" "$ref" >/dev/null
  echo "$p"
  interleave "$N" \
    "smoke $p: true" "" "'$MPBUILD' smoke '$ref' --platform $p -- true" \
    "smoke $p: 100k-iteration shell loop" "" "'$MPBUILD' smoke '$ref' --platform $p -- sh -c '$loop'" \
    "docker run --platform $p: true (peer)" "" "docker run --rm --platform $p '$ref' true" \
    "docker run --platform $p: 100k-iteration shell loop (peer)" "" "docker run --rm --platform $p '$ref' sh -c '$loop'"
  echo "   ratio smoke/docker run: true $(ratio "${MEDIANS[0]}" "${MEDIANS[2]}"), loop $(ratio "${MEDIANS[1]}" "${MEDIANS[3]}")"
done
