#!/usr/bin/env bash
# The GitHub Action's main step (action.yml), kept in a script so that tests/action_test.sh can
# run it with a simulated runner environment.
#
# One calint run writes everything: the log output (annotations with `--format github`, else
# the human report), the SARIF file, a JSON report (for the finding count) and the Markdown job
# summary. Then it sets the step outputs and exits with calint's exit code.
#
# Inputs (environment): INPUT_PATHS (whitespace-separated), INPUT_CONFIG, INPUT_FAIL_ON,
# INPUT_SARIF_FILE, INPUT_ANNOTATIONS (true/false), INPUT_ONLY_CHANGED (true/false/auto: on
# pull requests, annotate only findings on changed lines), INPUT_DIFF_BASE (the ref to diff
# against; default: the pull request's base branch). Runner variables used: GITHUB_OUTPUT,
# GITHUB_STEP_SUMMARY, GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_SHA (for links),
# GITHUB_EVENT_NAME and GITHUB_BASE_REF (pull requests). CALINT names the binary (default:
# calint on PATH).
set -uo pipefail

calint="${CALINT:-calint}"
sarif="${INPUT_SARIF_FILE:-calint.sarif}"
annotations="${INPUT_ANNOTATIONS:-true}"

paths=()
read -r -d '' -a paths <<< "${INPUT_PATHS:-.}" || true
[ "${#paths[@]}" -gt 0 ] || paths=(.)

args=(check "${paths[@]}")
[ -n "${INPUT_CONFIG:-}" ] && args+=(--config "$INPUT_CONFIG")
[ -n "${INPUT_FAIL_ON:-}" ] && args+=(--fail-on "$INPUT_FAIL_ON")

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
args+=(--report "sarif=$sarif" --report "json=$work/calint.json" --report "markdown=$work/summary.md")
if [ -n "${GITHUB_REPOSITORY:-}" ] && [ -n "${GITHUB_SHA:-}" ]; then
  args+=(--link-base "${GITHUB_SERVER_URL:-https://github.com}/$GITHUB_REPOSITORY/blob/$GITHUB_SHA/")
fi
# SARIF paths are relative to this directory; say where it is, so code scanning maps them
# when calint runs in a subdirectory of the repository.
args+=(--sarif-srcroot "file://$PWD/")

# Pull-request focus: annotate the findings on the lines the pull request changed (GitHub shows
# ten error and ten warning annotations per step); the others are counted in the log and are in
# the summary and SARIF.
only_changed="${INPUT_ONLY_CHANGED:-auto}"
case "$only_changed" in
  auto)
    case "${GITHUB_EVENT_NAME:-}" in
      pull_request|pull_request_target) only_changed=true ;;
      *) only_changed=false ;;
    esac ;;
  true|false) ;;
  *) echo "::error title=calint::only-changed must be true, false or auto, not '$only_changed'"; exit 2 ;;
esac
if [ "$only_changed" = true ] && [ "$annotations" = true ]; then
  base="${INPUT_DIFF_BASE:-}"
  if [ -z "$base" ] && [ -n "${GITHUB_BASE_REF:-}" ]; then
    # actions/checkout fetches only the merge commit; fetch the base branch tip to diff with.
    git fetch --quiet --no-tags --depth=1 origin "$GITHUB_BASE_REF" >/dev/null 2>&1 || true
    base="origin/$GITHUB_BASE_REF"
  fi
  if [ -n "$base" ] && git diff --no-color --no-ext-diff -U0 --relative "$base" HEAD > "$work/changed.diff" 2>"$work/diff.err"; then
    args+=(--changed-lines "$work/changed.diff")
    echo "calint: annotating only findings on lines changed since $base"
  else
    echo "::notice title=calint::only-changed: cannot diff against '${base:-the base branch}' ($(head -n 1 "$work/diff.err" 2>/dev/null)); annotating every finding"
  fi
fi

case "$annotations" in
  true) args+=(--format github) ;;
  false) args+=(--format human --color always) ;;
  *) echo "::error title=calint::annotations must be true or false, not '$annotations'"; exit 2 ;;
esac

"$calint" "${args[@]}"
code=$?

summary="${GITHUB_STEP_SUMMARY:-/dev/null}"
output="${GITHUB_OUTPUT:-/dev/null}"
if [ "$code" -gt 1 ] || [ ! -f "$work/calint.json" ]; then
  {
    echo "## calint"
    echo
    echo "calint could not run (exit code $code): see the step log for the error."
  } >> "$summary"
  exit "$code"
fi

# The JSON report starts with its summary, whose `findings` is the first `"findings": <number>`.
findings="$(grep -o '"findings": *[0-9][0-9]*' "$work/calint.json" | head -n 1 | grep -o '[0-9][0-9]*$')"
{
  echo "findings=${findings:-0}"
  echo "sarif-file=$sarif"
} >> "$output"
cat "$work/summary.md" >> "$summary"
exit "$code"
