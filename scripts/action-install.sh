#!/usr/bin/env bash
# Installs calint for the GitHub Action (action.yml). Kept out of the YAML so it can be read and
# run locally (tests/action_test.sh runs it). Environment:
#   INPUT_INSTALL_FROM  release (default): download the prebuilt binary of this action's own
#                       tag, verify its SHA-256 against the release's SHA256SUMS, and fall back
#                       to building from source (with a log line saying why) when there is no
#                       binary for this ref or platform. A checksum mismatch never falls back:
#                       it fails the step.
#                       source: cargo install this action's own checkout
#                       crates-io: cargo install calint from crates.io (INPUT_VERSION, if set)
#                       none: do nothing (calint is already on PATH)
#   INPUT_VERSION       version for crates-io; for release, a tag (vX.Y.Z) overriding the ref
#   GITHUB_ACTION_PATH  the action's checkout (set by the runner)
#   GITHUB_ACTION_REF   the ref the workflow used the action at (`uses: calint-dev/calint@v0.1.0`)
#   CALINT_RELEASE_BASE_URL  where release assets live (default: the GitHub release of the tag;
#                       the tests point it at a file:// directory)
#   CALINT_BIN_DIR      where the downloaded binary goes (default: $RUNNER_TEMP/calint-bin)
#   CALINT_TARGET_DIR   cargo target dir to build in (cached by action.yml)
set -euo pipefail

from="${INPUT_INSTALL_FROM:-release}"
case "$from" in
  none)
    command -v calint >/dev/null || { echo "::error title=calint::install-from is none but calint is not on PATH"; exit 2; }
    exit 0 ;;
  release|source|crates-io) ;;
  *) echo "::error title=calint::install-from must be release, source, crates-io or none, not '$from'"; exit 2 ;;
esac

add_to_path() {
  if [ -n "${GITHUB_PATH:-}" ]; then
    echo "$1" >> "$GITHUB_PATH"
  fi
}

# The release asset for this runner: calint-<tag>-<target>.tar.gz.
release_target() {
  local os arch
  os="$(uname -s)"
  arch="$(uname -m)"
  case "$os/$arch" in
    Linux/x86_64) echo x86_64-unknown-linux-musl ;;
    Linux/aarch64|Linux/arm64) echo aarch64-unknown-linux-musl ;;
    Darwin/x86_64) echo x86_64-apple-darwin ;;
    Darwin/arm64|Darwin/aarch64) echo aarch64-apple-darwin ;;
    *) return 1 ;;
  esac
}

sha256_of() {
  if command -v sha256sum >/dev/null; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

# Prints why it could not install (and returns 1) when falling back to source is right; exits
# the script on a checksum mismatch.
install_release() {
  local tag="${INPUT_VERSION:-${GITHUB_ACTION_REF:-}}"
  case "$tag" in
    v[0-9]*) ;;
    "") echo "the action's ref is unknown"; return 1 ;;
    *) echo "the action is used at '$tag', not at a release tag (vX.Y.Z)"; return 1 ;;
  esac
  local target
  target="$(release_target)" || { echo "no prebuilt binary for $(uname -s)/$(uname -m)"; return 1; }
  command -v curl >/dev/null || { echo "curl is not installed"; return 1; }
  local base="${CALINT_RELEASE_BASE_URL:-https://github.com/calint-dev/calint/releases/download/$tag}"
  local asset="calint-$tag-$target.tar.gz"
  local work
  work="$(mktemp -d)"
  if ! curl -fsSL --retry 3 -o "$work/$asset" "$base/$asset" 2>"$work/err" ||
     ! curl -fsSL --retry 3 -o "$work/SHA256SUMS" "$base/SHA256SUMS" 2>>"$work/err"; then
    echo "cannot download $base/$asset: $(head -n 1 "$work/err")"
    rm -rf "$work"
    return 1
  fi
  local expected actual
  expected="$(awk -v f="$asset" '$2 == f || $2 == "*" f { print $1 }' "$work/SHA256SUMS" | head -n 1)"
  actual="$(sha256_of "$work/$asset")"
  if [ -z "$expected" ] || [ "$expected" != "$actual" ]; then
    echo "::error title=calint::checksum mismatch for $asset from $base: SHA256SUMS says '${expected:-nothing}', the download is '$actual'. Not installing it (and not falling back to a build: a tampered or broken release must be looked at)."
    rm -rf "$work"
    exit 2
  fi
  local bin_dir="${CALINT_BIN_DIR:-${RUNNER_TEMP:-$HOME/.cache}/calint-bin}"
  mkdir -p "$bin_dir"
  tar -xzf "$work/$asset" -C "$work"
  local found
  found="$(find "$work" -type f -name calint -perm -u+x | head -n 1)"
  [ -n "$found" ] || { echo "::error title=calint::$asset holds no calint binary"; rm -rf "$work"; exit 2; }
  install -m 0755 "$found" "$bin_dir/calint"
  rm -rf "$work"
  add_to_path "$bin_dir"
  echo "calint: installed the prebuilt $tag for $target (SHA-256 $actual verified) into $bin_dir"
}

if [ "$from" = release ]; then
  if why="$(install_release)"; then
    echo "$why"
    exit 0
  fi
  # `exit 2` inside the subshell (checksum mismatch) ends up here as a failed status with the
  # error annotation in $why: fail loudly.
  case "$why" in
    *"::error"*) echo "$why"; exit 2 ;;
  esac
  echo "::notice title=calint::no prebuilt calint used ($why); building calint from source instead"
  from=source
fi

# The z3 crate links the system libz3.
if [ "$(uname -s)" = Linux ] && ! dpkg -s libz3-dev >/dev/null 2>&1; then
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq libz3-dev pkg-config
fi

command -v cargo >/dev/null || { echo "::error title=calint::cargo is needed to build calint (use actions-rust-lang/setup-rust-toolchain or dtolnay/rust-toolchain first)"; exit 2; }

target_args=()
# action.yml passes `~/...` (the form actions/cache understands); expand it here.
target_dir="${CALINT_TARGET_DIR:-}"
target_dir="${target_dir/#\~/$HOME}"
[ -n "$target_dir" ] && target_args=(--target-dir "$target_dir")
if [ "$from" = source ]; then
  cargo install --path "${GITHUB_ACTION_PATH:?}" --locked "${target_args[@]}"
else
  version_args=()
  [ -n "${INPUT_VERSION:-}" ] && version_args=(--version "$INPUT_VERSION")
  cargo install calint --locked "${version_args[@]}" "${target_args[@]}"
fi

# cargo installs into ~/.cargo/bin; make sure the next step finds it.
add_to_path "${CARGO_HOME:-$HOME/.cargo}/bin"
