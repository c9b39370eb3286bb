#!/usr/bin/env bash
# The action's run step: `mpbuild COMMAND` with the inputs as flags (each input arrives
# in an INPUT_* variable, never spliced into a script), then the result as step outputs
# read from mpbuild's JSON document (--metadata-file): the index digest, every image's
# REPO@DIGEST, every platform's digest, the tags moved, the document's path. The step
# ends with mpbuild's exit code (0 ok, 1 a check failed, 2 usage, 3 build or push,
# 4 registry). A leg is `push --platform P --digests-dir DIR`; `plan` gives the
# github-matrix as the `matrix` output.
set -euo pipefail
fail() { echo "::error title=mpbuild::$*" >&2; exit 2; }
truthy() { [[ ${1:-} == true ]]; }

command=${INPUT_COMMAND:-push}
global=()
[[ -n ${INPUT_FILE:-} ]] && global+=(--file "$INPUT_FILE")
while IFS= read -r line; do
  line=${line#"${line%%[![:space:]]*}"}
  [[ -n $line ]] && global+=(--set "$line")
done <<< "${INPUT_SET:-}"
truthy "${INPUT_NO_CACHE:-}" && global+=(--no-cache)
truthy "${INPUT_PULL:-}" && global+=(--pull)
truthy "${INPUT_VERBOSE:-}" && global+=(--verbose)

metadata="${RUNNER_TEMP:-/tmp}/mpbuild-${GITHUB_RUN_ID:-local}-${GITHUB_JOB:-job}-${command}.json"
args=()
paths=()
image() { [[ -n ${INPUT_IMAGE:-} ]] && args+=(--image "$INPUT_IMAGE"); return 0; }
deep() { [[ -n ${INPUT_DEEP:-} ]] && args+=("--deep=$INPUT_DEEP"); return 0; }
progress() { args+=(--progress "${INPUT_PROGRESS:-plain}"); }
builder() { [[ -n ${INPUT_BUILDER:-} ]] && args+=(--builder "$INPUT_BUILDER"); return 0; }
case $command in
  push)
    sub=push; image; deep; progress; builder
    [[ -n ${INPUT_PLATFORM:-} ]] && args+=(--platform "$INPUT_PLATFORM")
    [[ -n ${INPUT_DIGESTS_DIR:-} ]] && args+=(--digests-dir "$INPUT_DIGESTS_DIR")
    args+=(--metadata-file "$metadata") ;;
  leg)
    [[ -n ${INPUT_PLATFORM:-} ]] || fail "command: leg needs the platform input (a matrix entry's platform)"
    sub=push; image; deep; progress; builder
    args+=(--platform "$INPUT_PLATFORM" --digests-dir "${INPUT_DIGESTS_DIR:-digests}" --metadata-file "$metadata") ;;
  merge)
    sub=merge; image; deep; progress
    args+=(--digests-dir "${INPUT_DIGESTS_DIR:-digests}" --metadata-file "$metadata") ;;
  check)
    sub=check; deep
    while IFS= read -r line; do
      line=${line#"${line%%[![:space:]]*}"}
      [[ -n $line ]] && paths+=("$line")
    done <<< "${INPUT_PATHS:-}"
    [[ ${#paths[@]} -gt 0 ]] || fail "command: check needs the paths input: the deployment files or directories to check, one a line" ;;
  verify)
    sub=verify; image; deep
    [[ -n ${INPUT_PLATFORM:-} ]] && args+=(--platform "$INPUT_PLATFORM") ;;
  plan) sub=plan; image; args+=(--format github-matrix) ;;
  *) fail "command '$command' is not one of push, leg, merge, check, verify, plan" ;;
esac
# Extra arguments, as words (no shell expansion of their text).
read -r -a extra <<< "${INPUT_ARGS:-}"
[[ -n ${INPUT_WORKING_DIRECTORY:-} ]] && cd "$INPUT_WORKING_DIRECTORY"

out=${GITHUB_OUTPUT:?}
set +e
if [[ $sub == plan ]]; then
  matrix=$(mpbuild ${global[@]+"${global[@]}"} plan ${args[@]+"${args[@]}"} ${extra[@]+"${extra[@]}"})
  code=$?
  [[ $code -eq 0 ]] && echo "matrix=$matrix" >> "$out"
else
  mpbuild ${global[@]+"${global[@]}"} "$sub" ${args[@]+"${args[@]}"} ${extra[@]+"${extra[@]}"} ${paths[@]+-- "${paths[@]}"}
  code=$?
fi
set -e
echo "exit-code=$code" >> "$out"
if [[ -s $metadata && ($sub == push || $sub == merge) ]]; then
  {
    echo "metadata=$metadata"
    echo "result=$(jq -r '.result' "$metadata")"
    echo "digest=$(jq -r '.images[0].digest // ""' "$metadata")"
    echo "digests=$(jq -c '[(.images // [])[] | {(.name): "\(.repository)@\(.digest)"}] | add // {}' "$metadata")"
    echo "platforms=$(jq -c '[(.images // [])[] | .name as $n | .platforms[] | {image: $n, platform, digest}]' "$metadata")"
    echo "tags=$(jq -c '[(.images // [])[] | .repository as $r | .tags[] | "\($r):\(.tag)"]' "$metadata")"
  } >> "$out"
fi
exit "$code"
