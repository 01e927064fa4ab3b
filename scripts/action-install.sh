#!/usr/bin/env bash
# Installs calint for the GitHub Action (action.yml). Kept out of the YAML so it can be read and
# run locally. Environment:
#   INPUT_INSTALL_FROM  source (default): cargo install this action's own checkout
#                       crates-io: cargo install calint from crates.io (INPUT_VERSION, if set)
#                       none: do nothing (calint is already on PATH)
#   INPUT_VERSION       version for crates-io
#   GITHUB_ACTION_PATH  the action's checkout (set by the runner)
#   CALINT_TARGET_DIR   cargo target dir to build in (cached by action.yml)
set -euo pipefail

from="${INPUT_INSTALL_FROM:-source}"
case "$from" in
  none)
    command -v calint >/dev/null || { echo "::error title=calint::install-from is none but calint is not on PATH"; exit 2; }
    exit 0 ;;
  source|crates-io) ;;
  *) echo "::error title=calint::install-from must be source, crates-io or none, not '$from'"; exit 2 ;;
esac

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
if [ -n "${GITHUB_PATH:-}" ]; then
  echo "${CARGO_HOME:-$HOME/.cargo}/bin" >> "$GITHUB_PATH"
fi
