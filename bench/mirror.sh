#!/usr/bin/env bash
# Benchmark (issue 6): `mpbuild mirror --all` vs `skopeo copy --all` (Debian's skopeo)
# for the same two-platform image (a 16 MiB layer per platform), to a fresh destination
# repository every run: within the local registry, and across to a second registry.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup_stack
N=${N:-5}
work=$(mktemp -d)
PORT2=${PORT2:-5055}
cat >"$work/reg2.yml" <<YAML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $work/reg2}}
http: {addr: 127.0.0.1:$PORT2}
YAML
"$MPBUILD_STACK_PREFIX/usr/bin/docker-registry" serve "$work/reg2.yml" >/dev/null 2>&1 &
REG2_PID=$!
trap 'kill $REG2_PID 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 40); do curl -fs "http://127.0.0.1:$PORT2/v2/" >/dev/null && break; sleep 0.25; done

ctx=$work/ctx
mkdir -p "$ctx"
head -c $((16 << 20)) /dev/urandom >"$ctx/blob-amd64"
head -c $((16 << 20)) /dev/urandom >"$ctx/blob-arm64"
printf 'FROM scratch\nARG TARGETARCH\nCOPY blob-${TARGETARCH} /blob\n' >"$ctx/Dockerfile"
SRC=$MPBUILD_REGISTRY/bench/mirror-src:latest
docker buildx build -q --provenance=false --platform linux/amd64,linux/arm64 -t "$SRC" --push "$ctx" >/dev/null
echo "image: $SRC (linux/amd64 + linux/arm64, 16 MiB layer each)"

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
measure "mpbuild mirror --all (mounts, verifies, tags)" "$N" "$work/mp.sh" "$MPBUILD_REGISTRY"
A=$LAST_MEDIAN
measure "skopeo copy --all" "$N" "$work/sk.sh" "$MPBUILD_REGISTRY"
B=$LAST_MEDIAN
echo "   ratio mpbuild/skopeo: $(ratio "$A" "$B")"
# Across registries every run goes to a new, empty registry: skopeo remembers where
# blobs live (its blob-info cache) and would otherwise mount instead of copying.
cat >"$work/fresh.sh" <<SH
#!/usr/bin/env bash
# fresh.sh TOOL: start an empty registry, copy into it with TOOL, stop it.
port=\$((20000 + RANDOM % 20000))
dir=\$(mktemp -d)
printf 'version: 0.1\\nlog: {level: error}\\nstorage: {filesystem: {rootdirectory: %s}}\\nhttp: {addr: 127.0.0.1:%s}\\n' "\$dir/data" "\$port" >"\$dir/c.yml"
"$MPBUILD_STACK_PREFIX/usr/bin/docker-registry" serve "\$dir/c.yml" >/dev/null 2>&1 &
pid=\$!
for _ in \$(seq 1 100); do curl -fs "http://127.0.0.1:\$port/v2/" >/dev/null && break; sleep 0.02; done
s=\$(date +%s%N)
"$work/\$1.sh" "127.0.0.1:\$port" >/dev/null 2>&1; rc=\$?
e=\$(date +%s%N)
kill \$pid; rm -rf "\$dir"
echo \$(( (e - s) / 1000 )) >>"$work/\$1.times"
exit \$rc
SH
chmod +x "$work/fresh.sh"
median_of() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "2. across registries ($MPBUILD_REGISTRY → a new empty registry each run)"
for i in $(seq 1 "$N"); do "$work/fresh.sh" mp; "$work/fresh.sh" sk; done
C=$(median_of "$work/mp.times"); D=$(median_of "$work/sk.times")
printf '%-58s %9.1f ms median  (n=%d)\n' "mpbuild mirror --all (streams, verifies, tags)" "$(echo "$C / 1000" | bc -l)" "$N"
printf '%-58s %9.1f ms median  (n=%d)\n' "skopeo copy --all" "$(echo "$D / 1000" | bc -l)" "$N"
echo "   ratio mpbuild/skopeo: $(ratio "$C" "$D")"
