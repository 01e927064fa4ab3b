#!/usr/bin/env bash
# The GitHub Action's main step (action.yml), kept in a script so that tests/action_test.sh can
# run it with a simulated runner environment.
#
# One calint run writes everything: the log output (annotations with `--format github`, else
# the human report), the SARIF file, a JSON report (for the finding count) and the Markdown job
# summary. Then it sets the step outputs and exits with calint's exit code.
#
# Inputs (environment): INPUT_PATHS (whitespace-separated), INPUT_CONFIG, INPUT_FAIL_ON,
# INPUT_SARIF_FILE, INPUT_ANNOTATIONS (true/false). Runner variables used: GITHUB_OUTPUT,
# GITHUB_STEP_SUMMARY, GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_SHA (for links). CALINT
# names the binary (default: calint on PATH).
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
