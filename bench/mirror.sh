#!/usr/bin/env bash
# Benchmark (issues 6 and 17): `mpbuild mirror --all` vs `skopeo copy --all` (Debian's
# skopeo) for the same image, to a fresh destination repository every run: within the
# local registry (blobs mounted), and across to a new, empty registry (every byte
# streamed; mpbuild checks each blob against its digest as it passes). The image, like
# the issue's: three platforms (linux/amd64, linux/arm64, linux/arm/v7), three layers
# each (32, 12 and 4 MiB of random bytes: nothing compresses), 144 MiB in all.
# MIB="32 12 4" sets the layer sizes; N the rounds (the commands run interleaved).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup_stack
N=${N:-5}
MIB=${MIB:-32 12 4}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ctx=$work/ctx
mkdir -p "$ctx"
printf 'FROM scratch\nARG TARGETARCH\nARG TARGETVARIANT\n' >"$ctx/Dockerfile"
k=0
for mib in $MIB; do
  k=$((k + 1))
  for arch in amd64 arm64 armv7; do
    head -c $((mib << 20)) /dev/urandom >"$ctx/layer$k-$arch"
  done
  printf 'COPY layer%s-${TARGETARCH}${TARGETVARIANT} /layer%s\n' "$k" "$k" >>"$ctx/Dockerfile"
done
SRC=$MPBUILD_REGISTRY/bench/mirror-src:latest
docker buildx build -q --provenance=false --platform linux/amd64,linux/arm64,linux/arm/v7 -t "$SRC" --push "$ctx" >/dev/null
echo "image: $SRC (linux/amd64, linux/arm64, linux/arm/v7; layers of $MIB MiB each)"

cat >"$work/mp.sh" <<SH
#!/usr/bin/env bash
exec "$MPBUILD" mirror "$SRC" "\$1/bench/m\$(date +%s%N):latest" --all --progress plain
SH
cat >"$work/sk.sh" <<SH
#!/usr/bin/env bash
exec skopeo copy --all --quiet --src-tls-verify=false --dest-tls-verify=false "docker://$SRC" "docker://\$1/bench/s\$(date +%s%N):latest"
SH
chmod +x "$work/mp.sh" "$work/sk.sh"

echo "1. within the registry ($MPBUILD_REGISTRY → $MPBUILD_REGISTRY)"
interleave "$N" \
  "mpbuild mirror --all (mounts, verifies, tags)" "" "$work/mp.sh $MPBUILD_REGISTRY" \
  "skopeo copy --all" "" "$work/sk.sh $MPBUILD_REGISTRY"
echo "   ratio mpbuild/skopeo: $(ratio "${MEDIANS[0]}" "${MEDIANS[1]}")"
# Across registries every run goes to a new, empty registry: skopeo remembers where
# blobs live (its blob-info cache) and would otherwise mount instead of copying.
cat >"$work/fresh.sh" <<SH
#!/usr/bin/env bash
# fresh.sh TOOL: start an empty registry, copy into it with TOOL, stop it.
# Below the ephemeral range (32768+), where a port may be some connection's own end.
port=\$((20000 + RANDOM % 12000))
# In memory where the machine has it: the disk's write-back of earlier runs would
# otherwise slow later ones, for both tools alike but noisily.
dir=\$(mktemp -d -p "\$([ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm || echo "\${TMPDIR:-/tmp}")")
printf 'version: 0.1\\nlog: {level: error}\\nstorage: {filesystem: {rootdirectory: %s}}\\nhttp: {addr: 127.0.0.1:%s}\\n' "\$dir/data" "\$port" >"\$dir/c.yml"
"$MPBUILD_STACK_PREFIX/usr/bin/docker-registry" serve "\$dir/c.yml" >/dev/null 2>&1 &
pid=\$!
up=
for _ in \$(seq 1 100); do curl -fs "http://127.0.0.1:\$port/v2/" >/dev/null && { up=1; break; }; sleep 0.02; done
[ -n "\$up" ] && kill -0 \$pid 2>/dev/null || { echo "bench: the registry on port \$port did not start" >&2; exit 1; }
s=\$(date +%s%N)
"$work/\$1.sh" "127.0.0.1:\$port" >/dev/null 2>&1; rc=\$?
e=\$(date +%s%N)
kill \$pid; wait \$pid 2>/dev/null; rm -rf "\$dir"
echo \$(( (e - s) / 1000 )) >>"$work/\$1.times"
exit \$rc
SH
chmod +x "$work/fresh.sh"
echo "2. across registries ($MPBUILD_REGISTRY → a new empty registry each run)"
"$work/fresh.sh" mp; "$work/fresh.sh" sk; rm -f "$work"/*.times # a warm-up round
for i in $(seq 1 "$N"); do "$work/fresh.sh" mp; "$work/fresh.sh" sk; done
report "mpbuild mirror --all (streams, verifies, tags)" $(cat "$work/mp.times"); C=$REPORTED
report "skopeo copy --all" $(cat "$work/sk.times"); D=$REPORTED
echo "   ratio mpbuild/skopeo: $(ratio "$C" "$D")"
