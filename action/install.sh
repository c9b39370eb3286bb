#!/usr/bin/env bash
# The action's install step: the release archive of mpbuild for this runner's OS and
# CPU (RUNNER_OS, RUNNER_ARCH), checked against its SHA-256 — the `sha256` input when
# given, else the checksum file published beside the archive — before anything in it
# runs. The checked binary is kept under RUNNER_TOOL_CACHE/mpbuild/VERSION/PLATFORM
# with the digest it was checked against (a self-hosted runner keeps it between jobs;
# a kept binary is used only when that digest is the one asked for now).
# Inputs, through the environment (never into the script): MPBUILD_VERSION,
# MPBUILD_SHA256, MPBUILD_RELEASES (where releases are downloaded from).
set -euo pipefail
fail() { echo "::error title=mpbuild install::$*" >&2; exit 1; }

version=${MPBUILD_VERSION#v}
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+([-.+][0-9A-Za-z.-]+)?$ ]] \
  || fail "version '${MPBUILD_VERSION}' is not a release version such as 0.1.0"
case "${RUNNER_OS:-}/${RUNNER_ARCH:-}" in
  Linux/X64) platform=linux-amd64 ;;
  Linux/ARM64) platform=linux-arm64 ;;
  macOS/ARM64) platform=macos-arm64 ;;
  macOS/X64) platform=macos-x86_64 ;;
  *) fail "no mpbuild release for ${RUNNER_OS:-unknown OS}/${RUNNER_ARCH:-unknown CPU}: releases are built for Linux and macOS on X64 and ARM64" ;;
esac
want=$(printf '%s' "${MPBUILD_SHA256:-}" | tr 'A-F' 'a-f')
[[ -z $want || $want =~ ^[0-9a-f]{64}$ ]] || fail "sha256 '${MPBUILD_SHA256}' is not 64 hex digits"

sha256() { if command -v sha256sum >/dev/null; then sha256sum "$1"; else shasum -a 256 "$1"; fi | cut -d' ' -f1; }
name="mpbuild-v${version}-${platform}"
cache="${RUNNER_TOOL_CACHE:?}/mpbuild/${version}/${platform}"

if [[ -x $cache/mpbuild && -f $cache/archive.sha256 ]] \
   && { [[ -z $want ]] || [[ $(cat "$cache/archive.sha256") == "$want" ]]; }; then
  echo "mpbuild ${version} (${platform}) from the tool cache ($cache)"
else
  tmp=$(mktemp -d "${RUNNER_TEMP:-/tmp}/mpbuild-install.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  base="${MPBUILD_RELEASES:-https://github.com/acme/mpbuild/releases/download}/v${version}"
  fetch() { curl --fail --silent --show-error --location --proto '=https,file' --max-time 300 --retry 3 -o "$2" "$1" \
    || fail "cannot download $1"; }
  fetch "$base/$name.tar.gz" "$tmp/$name.tar.gz"
  if [[ -z $want ]]; then
    fetch "$base/$name.tar.gz.sha256" "$tmp/$name.tar.gz.sha256"
    want=$(cut -d' ' -f1 "$tmp/$name.tar.gz.sha256" | tr 'A-F' 'a-f')
    [[ $want =~ ^[0-9a-f]{64}$ ]] || fail "$base/$name.tar.gz.sha256 holds no SHA-256"
  fi
  got=$(sha256 "$tmp/$name.tar.gz")
  [[ $got == "$want" ]] \
    || fail "$name.tar.gz has SHA-256 $got, not $want: the download is not the release asked for; nothing was installed"
  tar -xzf "$tmp/$name.tar.gz" -C "$tmp" "$name/mpbuild" || fail "$name.tar.gz holds no $name/mpbuild"
  mkdir -p "$cache"
  install -m 0755 "$tmp/$name/mpbuild" "$cache/mpbuild"
  printf '%s\n' "$want" > "$cache/archive.sha256"
  echo "mpbuild ${version} (${platform}) installed, SHA-256 $want"
fi
"$cache/mpbuild" --version
echo "$cache" >> "${GITHUB_PATH:?}"
{
  echo "path=$cache/mpbuild"
  echo "version=$version"
} >> "${GITHUB_OUTPUT:?}"
