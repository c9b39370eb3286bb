#!/usr/bin/env bash
# Benchmark (issue 23): `mpbuild check` of 100 image references across 20 deployment
# files (10 Kubernetes manifests, 5 ECS task definitions, 3 compose files, 2
# CloudFormation templates; 40 tags of 8 images, so files share images), against the
# same verification done the way a team would script it today:
#   - `mpbuild verify REF --platform …` once per reference, in a shell loop;
#   - `crane manifest REF` once per reference, in a shell loop (the index only: less
#     than either mpbuild does).
# Same local registry, same run: N rounds (default 10), the three in turn in each round,
# so the machine's load changes hit them alike; medians. Goals: the check under 2 s, and
# at most 0.3x the crane loop.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup_stack
N=${N:-10}
REPO=$MPBUILD_REGISTRY/bench/check
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# crane 0.20.1 from ../shared/tools (see CRANE.md), checked, kept under target/.
CRANE=$ROOT/target/bench-tools/crane
CRANE_SHA256=f13884333165b80d331d9740e209785df1cc165089a2b7b1f509eb0f1d61c3b0
if [ ! -x "$CRANE" ]; then
  mkdir -p "$(dirname "$CRANE")"
  for xz in "$ROOT/../shared/tools/crane.xz" "$ROOT/../../shared/tools/crane.xz"; do
    [ -f "$xz" ] && { xz -dc "$xz" >"$CRANE.tmp"; break; }
  done
  [ -f "$CRANE.tmp" ] || { echo "bench: crane.xz not found in ../shared/tools" >&2; exit 1; }
  echo "$CRANE_SHA256  $CRANE.tmp" | sha256sum -c --quiet
  chmod +x "$CRANE.tmp" && mv "$CRANE.tmp" "$CRANE"
fi

# 8 images (linux/amd64 + linux/arm64, with provenance attestations, as buildx pushes
# them by default), 5 tags each.
tags=()
for i in $(seq 1 8); do
  ctx=$work/ctx$i
  mkdir -p "$ctx"
  printf 'image %s\n' "$i" >"$ctx/data"
  printf 'FROM scratch\nCOPY data /data\n' >"$ctx/Dockerfile"
  args=()
  for t in a b c d e; do
    args+=(-t "$REPO:img$i-$t")
    tags+=("img$i-$t")
  done
  docker buildx build -q --provenance=mode=min --platform linux/amd64,linux/arm64 \
    "${args[@]}" --push "$ctx" >/dev/null
done

# 100 references: the 40 tags, then 60 more drawn from them (files share images).
refs=()
for k in $(seq 0 99); do refs+=("$REPO:${tags[$(( (k * 7) % 40 ))]}"); done
next=0
ref() { REF=${refs[$next]}; next=$((next + 1)); }
deploy=$work/deploy
mkdir -p "$deploy/k8s" "$deploy/ecs" "$deploy/compose" "$deploy/cfn"
list=$work/references # "REF PLATFORM…" per reference, for the loops

# Kubernetes: no nodeSelector, so every architecture of the cluster.
for f in $(seq 1 10); do
  {
    printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app%s\nspec:\n  template:\n    spec:\n      containers:\n' "$f"
    for c in $(seq 1 5); do
      ref
      printf '        - name: c%s\n          image: %s\n' "$c" "$REF"
      echo "$REF linux/amd64 linux/arm64" >>"$list"
    done
  } >"$deploy/k8s/app$f.yaml"
done
# ECS task definitions on Graviton.
for f in $(seq 1 5); do
  {
    printf '{\n  "family": "task%s",\n  "requiresCompatibilities": ["FARGATE"],\n  "runtimePlatform": {"cpuArchitecture": "ARM64"},\n  "containerDefinitions": [\n' "$f"
    for c in $(seq 1 5); do
      ref
      sep=,; [ "$c" = 5 ] && sep=
      printf '    {"name": "c%s", "image": "%s"}%s\n' "$c" "$REF" "$sep"
      echo "$REF linux/arm64" >>"$list"
    done
    printf '  ]\n}\n'
  } >"$deploy/ecs/task$f.json"
done
# compose, amd64.
for f in $(seq 1 3); do
  {
    printf 'services:\n'
    for c in $(seq 1 5); do
      ref
      printf '  s%s:\n    image: %s\n    platform: linux/amd64\n' "$c" "$REF"
      echo "$REF linux/amd64" >>"$list"
    done
  } >"$deploy/compose/compose$f.yaml"
done
# CloudFormation task definitions (X86_64 by default).
for f in $(seq 1 2); do
  {
    printf 'Resources:\n  Task:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      ContainerDefinitions:\n'
    for c in $(seq 1 5); do
      ref
      printf '        - Name: c%s\n          Image: %s\n' "$c" "$REF"
      echo "$REF linux/amd64" >>"$list"
    done
  } >"$deploy/cfn/stack$f.yaml"
done
[ "$(wc -l <"$list")" = 100 ] || { echo "bench: expected 100 references" >&2; exit 1; }

verify_loop=$work/verify-loop.sh
crane_loop=$work/crane-loop.sh
cat >"$verify_loop" <<EOF
set -e
while read -r ref platforms; do
  args=()
  for p in \$platforms; do args+=(--platform "\$p"); done
  '$MPBUILD' verify "\$ref" "\${args[@]}" >/dev/null
done <'$list'
EOF
cat >"$crane_loop" <<EOF
set -e
while read -r ref _; do '$CRANE' manifest --insecure "\$ref" >/dev/null; done <'$list'
EOF
echo "100 references in 20 files, $(sort -u "$list" | cut -d' ' -f1 | sort -u | wc -l) distinct tags of 8 images"
"$MPBUILD" check "$deploy" --cluster-archs amd64,arm64 | tail -1
interleave "$N" \
  "mpbuild check (20 files, 100 references)"  "" \
  "'$MPBUILD' check '$deploy' --cluster-archs amd64,arm64" \
  "mpbuild verify, once per reference (shell loop)"  "" \
  "bash '$verify_loop'" \
  "crane manifest, once per reference (shell loop)"  "" \
  "bash '$crane_loop'"
CHECK=${MEDIANS[0]} VERIFY=${MEDIANS[1]} CRANE_LOOP=${MEDIANS[2]}
echo
echo "ratio check/verify loop: $(ratio "$CHECK" "$VERIFY")"
echo "ratio check/crane loop:  $(ratio "$CHECK" "$CRANE_LOOP")   (goal: <= 0.30)"
echo "check median: $(echo "scale=3; $CHECK / 1000000" | bc -l) s   (goal: < 2 s)"
