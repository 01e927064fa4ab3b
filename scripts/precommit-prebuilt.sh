#!/usr/bin/env bash
# The `calint-prebuilt` pre-commit hook: runs `calint check` with the prebuilt release binary
# (downloaded once per version into ~/.cache/calint/prebuilt/, SHA-256 verified by the same
# code as the GitHub Action), so the hook starts in seconds instead of compiling for a minute.
#
# The version is the tag the hook repository is checked out at, else the version in its
# Cargo.toml (pre-commit checks out a `rev:` without its tag); CALINT_VERSION overrides it.
# Without a release for it, action-install.sh says so and builds from source with cargo.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
tag="${CALINT_VERSION:-}"
[ -n "$tag" ] || tag="$(git -C "$here" describe --tags --exact-match 2>/dev/null || true)"
if [ -z "$tag" ]; then
  version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$here/Cargo.toml" | head -n 1)"
  [ -n "$version" ] && tag="v$version"
fi
cache="${XDG_CACHE_HOME:-$HOME/.cache}/calint/prebuilt/${tag:-unknown}"
if [ ! -x "$cache/calint" ]; then
  INPUT_INSTALL_FROM=release INPUT_VERSION="$tag" GITHUB_ACTION_PATH="$here" \
    CALINT_BIN_DIR="$cache" GITHUB_PATH="" bash "$here/scripts/action-install.sh" >&2
fi
if [ -x "$cache/calint" ]; then
  exec "$cache/calint" check "$@"
fi
# Built from source by the fallback: cargo put it in ~/.cargo/bin.
exec "${CARGO_HOME:-$HOME/.cargo}/bin/calint" check "$@"
