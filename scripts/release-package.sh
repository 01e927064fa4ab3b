#!/usr/bin/env bash
# Packs one release binary: dist/calint-<tag>-<target>.tar.gz holding calint-<tag>/calint and
# README.md. Used by .github/workflows/release.yml; runnable locally (tests/action_test.sh
# packs the test binary with it). Usage: scripts/release-package.sh TAG TARGET BINARY
set -euo pipefail
tag="${1:?tag}"
target="${2:?target}"
binary="${3:?binary}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dist="${DIST_DIR:-$root/dist}"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/calint-$tag" "$dist"
install -m 0755 "$binary" "$stage/calint-$tag/calint"
cp "$root/README.md" "$stage/calint-$tag/"
# Reproducible archive: fixed order, owner and times.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='1970-01-01 00:00:00Z' \
  -C "$stage" -cf - "calint-$tag" | gzip -n > "$dist/calint-$tag-$target.tar.gz"
echo "$dist/calint-$tag-$target.tar.gz"
