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
trap 'rm -rf "$tmp"' EXIT
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
expect_in "$d/output" "findings=11"
expect_in "$d/output" "sarif-file=$d/calint.sarif"
expect_in "$d/calint.sarif" '"version": "2.1.0"'
expect_in "$d/calint.sarif" '"ruleId": "CAL003"'
expect_in "$d/summary.md" "## calint"
expect_in "$d/summary.md" "11 findings (6 errors, 5 warnings) in 19 files"
expect_in "$d/summary.md" "| CAL002 | invalid-resource | error | 3 |"
expect_in "$d/summary.md" "[examples/policies/shop/database-replica.yaml:15](https://github.com/calint-dev/demo/blob/0123abc/examples/policies/shop/database-replica.yaml#L15)"

# 2. A clean tree, several paths, no annotations: exit 0, zero findings, human log.
run_step clean INPUT_PATHS="fixtures/CAL101/clean
fixtures/CAL102/clean" INPUT_ANNOTATIONS=false
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
expect_in "$d/output" "findings=4"

# 4. A broken configuration: exit 2, the error in the log, a summary saying so, no outputs.
run_step badconfig INPUT_PATHS=fixtures/config/bad-keys
d="$tmp/badconfig"
[ "$(cat "$d/code")" = 2 ] || fail "badconfig: exit code $(cat "$d/code"), expected 2"
expect_in "$d/log" "unknown field \`exlude\`"
expect_in "$d/summary.md" "calint could not run (exit code 2)"
[ -s "$d/output" ] && fail "badconfig: no outputs expected"

if [ "$failures" -gt 0 ]; then
  for f in "$tmp"/*/log; do echo "--- $f"; cat "$f"; done >&2
  exit 1
fi
echo "action test: all cases passed"
