#!/usr/bin/env bash
# Runs the GitHub Action's step script (scripts/action-run.sh) the way the runner would, with a
# simulated environment, and checks what it writes: log annotations, SARIF file, step outputs,
# job summary and exit code. Usage: tests/action_test.sh PATH/TO/calint
# (tests/action.rs runs it with the binary cargo built).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
calint="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"

tmp="$(mktemp -d)"
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
expect_in() { grep -qF -- "$2" "$1" || fail "$1 should contain: $2"; }

# One simulated step: $1 = case name; the remaining arguments are INPUT_* assignments.
run_step() {
  local name="$1"; shift
  mkdir -p "$tmp/$name"
  : > "$tmp/$name/summary.md"
  : > "$tmp/$name/output"
  set +e
  env -i PATH="$(dirname "$calint"):/usr/bin:/bin" HOME="$tmp" \
    CALINT="$calint" \
    GITHUB_ACTIONS=true GITHUB_ACTION_PATH="$root" GITHUB_WORKSPACE="$root" \
    GITHUB_STEP_SUMMARY="$tmp/$name/summary.md" GITHUB_OUTPUT="$tmp/$name/output" \
    GITHUB_SERVER_URL=https://github.com GITHUB_REPOSITORY=calint-dev/demo GITHUB_SHA=0123abc \
    INPUT_INSTALL_FROM=none INPUT_SARIF_FILE="$tmp/$name/calint.sarif" "$@" \
    bash "$root/scripts/action-run.sh" > "$tmp/$name/log" 2>&1
  echo $? > "$tmp/$name/code"
  set -e
}

# 1. The example tree: fails (exit 1), annotates, writes SARIF, outputs and summary.
run_step examples INPUT_PATHS=examples INPUT_ANNOTATIONS=true
d="$tmp/examples"
[ "$(cat "$d/code")" = 1 ] || fail "examples: exit code $(cat "$d/code"), expected 1"
expect_in "$d/log" "::error file=examples/policies/shop/database-replica.yaml,line=15,endLine=15,col=16,endColumn=29,title=CAL002 invalid-resource::"
expect_in "$d/log" "::warning file=examples/policies/platform/pass-to-apps.yaml,line=6"
expect_in "$d/output" "findings=18"
expect_in "$d/output" "sarif-file=$d/calint.sarif"
expect_in "$d/calint.sarif" '"version": "2.1.0"'
expect_in "$d/calint.sarif" '"ruleId": "CAL003"'
expect_in "$d/summary.md" "## calint"
expect_in "$d/summary.md" "18 findings (6 errors, 3 warnings, 9 infos) in 19 files"
expect_in "$d/summary.md" "| CAL002 | invalid-resource | error | 3 |"
expect_in "$d/summary.md" "[examples/policies/shop/database-replica.yaml:15](https://github.com/calint-dev/demo/blob/0123abc/examples/policies/shop/database-replica.yaml#L15)"

# 2. A clean tree, several paths, no annotations: exit 0, zero findings, human log.
run_step clean INPUT_PATHS="fixtures/CAL124/clean
fixtures/CAL125/clean" INPUT_ANNOTATIONS=false
d="$tmp/clean"
[ "$(cat "$d/code")" = 0 ] || fail "clean: exit code $(cat "$d/code"), expected 0"
expect_in "$d/output" "findings=0"
expect_in "$d/log" "no findings in 2 files"
grep -q '^::' "$d/log" && fail "clean: no annotations expected with annotations=false"
expect_in "$d/summary.md" "no findings in 2 files"

# 3. fail-on and config inputs reach calint: warnings only, failing on errors → exit 0.
run_step failon INPUT_PATHS=fixtures/CAL101/fires INPUT_FAIL_ON=error \
  INPUT_CONFIG=fixtures/config/nested/.calint.yaml
d="$tmp/failon"
[ "$(cat "$d/code")" = 0 ] || fail "failon: exit code $(cat "$d/code"), expected 0"
expect_in "$d/log" "::notice file=fixtures/CAL101/fires/policies.yaml"
expect_in "$d/output" "findings=5"

# 4. A broken configuration: exit 2, the error in the log, a summary saying so, no outputs.
run_step badconfig INPUT_PATHS=fixtures/config/bad-keys
d="$tmp/badconfig"
[ "$(cat "$d/code")" = 2 ] || fail "badconfig: exit code $(cat "$d/code"), expected 2"
expect_in "$d/log" "unknown field \`exlude\`"
expect_in "$d/summary.md" "calint could not run (exit code 2)"
[ -s "$d/output" ] && fail "badconfig: no outputs expected"

# 1b. Errors first: GitHub shows the first ten error and ten warning annotations.
d="$tmp/examples"
grep '^::' "$d/log" | awk '/^::error/ { if (seen_other) bad = 1 } !/^::error/ { seen_other = 1 } END { exit bad }' ||
  fail "examples: an error annotation comes after a warning"

# 5. only-changed: in a pull request, only findings on changed lines are annotated.
repo="$tmp/repo"
mkdir -p "$repo"
cp -R "$root/examples/." "$repo/"
git -C "$repo" init -q
git -C "$repo" add -A
git -C "$repo" -c user.email=ci@example.com -c user.name=ci commit -qm base
sed -i 's/^  name: backend$/  name: backend  # touched by the pull request/' "$repo/policies/shop/backend.yaml"
git -C "$repo" -c user.email=ci@example.com -c user.name=ci commit -qam change
mkdir -p "$tmp/changed"
: > "$tmp/changed/summary.md"
set +e
(cd "$repo" && env -i PATH="$(dirname "$calint"):/usr/bin:/bin" HOME="$tmp" CALINT="$calint" \
  GITHUB_ACTIONS=true GITHUB_EVENT_NAME=pull_request GITHUB_STEP_SUMMARY="$tmp/changed/summary.md" \
  GITHUB_OUTPUT=/dev/null INPUT_PATHS=. INPUT_DIFF_BASE=HEAD~1 INPUT_SARIF_FILE="$tmp/changed/calint.sarif" \
  bash "$root/scripts/action-run.sh" > "$tmp/changed/log" 2>&1)
echo $? > "$tmp/changed/code"
set -e
d="$tmp/changed"
[ "$(cat "$d/code")" = 1 ] || fail "changed: exit code $(cat "$d/code"), expected 1"
[ "$(grep -c '^::' "$d/log")" = 1 ] || fail "changed: expected exactly one annotation"
expect_in "$d/log" "::warning file=policies/shop/backend.yaml,line=4"
expect_in "$d/log" "calint: 17 more findings are on lines this pull request did not change"
expect_in "$d/log" "calint: annotating only findings on lines changed since HEAD~1"
expect_in "$d/summary.md" "18 findings (6 errors, 3 warnings, 9 infos)"
expect_in "$d/calint.sarif" '"%SRCROOT%": {'
expect_in "$d/calint.sarif" "\"uri\": \"file://$repo/\""

# 6. install-from release: the binary of the action's tag, from a file:// release directory.
rel="$tmp/release"
case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) target=x86_64-unknown-linux-musl ;;
  Linux/aarch64) target=aarch64-unknown-linux-musl ;;
  Darwin/arm64) target=aarch64-apple-darwin ;;
  *) target=x86_64-apple-darwin ;;
esac
asset="calint-v9.9.9-$target.tar.gz"
# Packed by the release workflow's own script, twice: the archive is reproducible.
DIST_DIR="$rel" bash "$root/scripts/release-package.sh" v9.9.9 "$target" "$calint" > /dev/null
first="$(sha256sum "$rel/$asset" | cut -d' ' -f1)"
DIST_DIR="$rel" bash "$root/scripts/release-package.sh" v9.9.9 "$target" "$calint" > /dev/null
[ "$(sha256sum "$rel/$asset" | cut -d' ' -f1)" = "$first" ] || fail "release-package.sh is not reproducible"
[ "$(tar -tzf "$rel/$asset" | sort | tr '\n' ' ')" = "calint-v9.9.9/ calint-v9.9.9/README.md calint-v9.9.9/calint " ] ||
  fail "unexpected archive content: $(tar -tzf "$rel/$asset" | tr '\n' ' ')"
(cd "$rel" && sha256sum "$asset" > SHA256SUMS)
install_step() {
  local name="$1"; shift
  mkdir -p "$tmp/$name"
  : > "$tmp/$name/path"
  set +e
  env -i PATH=/usr/bin:/bin HOME="$tmp" GITHUB_ACTION_PATH="$root" GITHUB_PATH="$tmp/$name/path" \
    CALINT_BIN_DIR="$tmp/$name/bin" CALINT_RELEASE_BASE_URL="file://$rel" "$@" \
    bash "$root/scripts/action-install.sh" > "$tmp/$name/log" 2>&1
  echo $? > "$tmp/$name/code"
  set -e
}
install_step release INPUT_INSTALL_FROM=release GITHUB_ACTION_REF=v9.9.9
d="$tmp/release"
[ "$(cat "$d/code")" = 0 ] || fail "release: exit code $(cat "$d/code"), expected 0"
expect_in "$d/log" "calint: installed the prebuilt v9.9.9 for $target (SHA-256 $(sha256sum "$rel/$asset" | cut -d' ' -f1) verified)"
expect_in "$d/path" "$d/bin"
"$d/bin/calint" --version > "$d/version" 2>&1 || fail "release: the installed calint does not run"
expect_in "$d/version" "calint"

# 7. A checksum mismatch fails loudly, installs nothing and does not fall back to a build.
cp "$rel/SHA256SUMS" "$tmp/SHA256SUMS.good"
printf '%064d  %s\n' 0 "$asset" > "$rel/SHA256SUMS"
install_step mismatch INPUT_INSTALL_FROM=release GITHUB_ACTION_REF=v9.9.9
d="$tmp/mismatch"
[ "$(cat "$d/code")" = 2 ] || fail "mismatch: exit code $(cat "$d/code"), expected 2"
expect_in "$d/log" "::error title=calint::checksum mismatch for $asset"
[ -e "$d/bin/calint" ] && fail "mismatch: a binary was installed"
grep -q "building calint from source" "$d/log" && fail "mismatch: must not fall back to source"
cp "$tmp/SHA256SUMS.good" "$rel/SHA256SUMS"

# 8. No release for this ref: a clear log line, then the source build (which here stops at the
# missing cargo: PATH has none).
install_step noref INPUT_INSTALL_FROM=release GITHUB_ACTION_REF=main
d="$tmp/noref"
expect_in "$d/log" "::notice title=calint::no prebuilt calint used (the action is used at 'main', not at a release tag (vX.Y.Z)); building calint from source instead"
expect_in "$d/log" "cargo is needed to build calint"
install_step noasset INPUT_INSTALL_FROM=release GITHUB_ACTION_REF=v0.0.1
expect_in "$tmp/noasset/log" "no prebuilt calint used (cannot download file://$rel/calint-v0.0.1-$target.tar.gz"

# 9. The calint-prebuilt pre-commit hook: downloads (verified) once, then runs calint check.
mkdir -p "$tmp/hook"
set +e
(cd "$root/fixtures/CAL101" && env -i PATH=/usr/bin:/bin HOME="$tmp/hook" CALINT_VERSION=v9.9.9 \
  CALINT_RELEASE_BASE_URL="file://$rel" bash "$root/scripts/precommit-prebuilt.sh" fires) > "$tmp/hook/log" 2>&1
echo $? > "$tmp/hook/code"
set -e
[ "$(cat "$tmp/hook/code")" = 1 ] || fail "hook: exit code $(cat "$tmp/hook/code"), expected 1 (findings)"
expect_in "$tmp/hook/log" "installed the prebuilt v9.9.9"
expect_in "$tmp/hook/log" "CAL101"
[ -x "$tmp/hook/.cache/calint/prebuilt/v9.9.9/calint" ] || fail "hook: binary not cached"

# 9. The diff step: a repository whose working tree widens the base commit's policy set.
repo="$tmp/diffrepo"
mkdir -p "$repo/apps" "$repo/policies"
cp examples/apps/*.yaml "$repo/apps/"
cp examples/cluster/*.yaml examples/policies/shop/database.yaml "$repo/policies/"
git -C "$repo" init -q
git -C "$repo" add -A
git -C "$repo" -c user.name=t -c user.email=t@example.com -c commit.gpgsign=false commit -qm base
base_sha="$(git -C "$repo" rev-parse HEAD)"
sed -i "s/selector: app == 'backend'/selector: app in {'backend', 'frontend'}/" "$repo/policies/database.yaml"
run_diff() {
  local name="$1"; shift
  mkdir -p "$tmp/$name"
  : > "$tmp/$name/summary.md"
  : > "$tmp/$name/output"
  set +e
  (cd "$repo" && env -i PATH="$(dirname "$calint"):/usr/bin:/bin" HOME="$tmp" CALINT="$calint" \
    GITHUB_STEP_SUMMARY="$tmp/$name/summary.md" GITHUB_OUTPUT="$tmp/$name/output" \
    GITHUB_SERVER_URL=https://github.com GITHUB_REPOSITORY=calint-dev/demo GITHUB_SHA=0123abc \
    INPUT_PATHS=. INPUT_DIFF_FILE="$tmp/$name/comment.md" "$@" \
    bash "$root/scripts/action-diff.sh" > "$tmp/$name/log" 2>&1)
  echo $? > "$tmp/$name/code"
  set -e
}
run_diff diff INPUT_DIFF_BASE="$base_sha" INPUT_FAIL_ON_OPENED=false
d="$tmp/diff"
[ "$(cat "$d/code")" = 0 ] || fail "diff: exit code $(cat "$d/code"), expected 0"
expect_in "$d/output" "opened=1"
expect_in "$d/output" "diff-file=$d/comment.md"
expect_in "$d/comment.md" "**opens 1 connection**"
expect_in "$d/summary.md" "| opened | shop/frontend | shop/database |"
expect_in "$d/comment.md" "(https://github.com/calint-dev/demo/blob/0123abc/policies/database.yaml#L11)"
run_diff diffgate INPUT_DIFF_BASE="$base_sha" INPUT_FAIL_ON_OPENED=true
[ "$(cat "$tmp/diffgate/code")" = 1 ] || fail "diffgate: exit code $(cat "$tmp/diffgate/code"), expected 1"
expect_in "$tmp/diffgate/log" "::error title=calint diff::this change opens 1 connection(s)"
run_diff diffskip INPUT_DIFF_BASE=
[ "$(cat "$tmp/diffskip/code")" = 0 ] || fail "diffskip: exit code $(cat "$tmp/diffskip/code"), expected 0"
[ -s "$tmp/diffskip/output" ] && fail "diffskip: no outputs expected"

if [ "$failures" -gt 0 ]; then
  for f in "$tmp"/*/log; do echo "--- $f"; cat "$f"; done >&2
  exit 1
fi
echo "action test: all cases passed"
