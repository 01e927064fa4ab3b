#!/usr/bin/env bash
# The GitHub Action's diff step (action.yml): what the pull request changes, by effect.
#
# Runs `calint diff --base BASE` against the checked-out tree (the pull request's merge
# commit), writes the Markdown comment to INPUT_DIFF_FILE and to the job summary, and sets the
# outputs `diff-file`, `opened`, `closed`, `changed`. With INPUT_FAIL_ON_OPENED=true the step
# fails when the change opens a connection. Findings do not fail this step: the check step
# already judges them.
#
# Inputs (environment): INPUT_DIFF_BASE (a commit; empty or `none`: skip), INPUT_PATHS,
# INPUT_CONFIG, INPUT_DIFF_FILE, INPUT_FAIL_ON_OPENED (true/false). Runner variables used:
# GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_SHA.
# CALINT names the binary (default: calint on PATH).
set -uo pipefail

calint="${CALINT:-calint}"
base="${INPUT_DIFF_BASE:-}"
file="${INPUT_DIFF_FILE:-calint-diff.md}"
fail_on_opened="${INPUT_FAIL_ON_OPENED:-false}"
output="${GITHUB_OUTPUT:-/dev/null}"
summary="${GITHUB_STEP_SUMMARY:-/dev/null}"

case "$base" in
  "" | none | false)
    echo "calint diff: skipped (no diff-base, and not a pull request)"
    exit 0 ;;
esac
case "$fail_on_opened" in
  true | false) ;;
  *) echo "::error title=calint diff::fail-on-opened must be true or false, not '$fail_on_opened'"; exit 2 ;;
esac

# A shallow checkout (actions/checkout's default depth 1) lacks the base commit: fetch it.
if ! git cat-file -e "$base^{commit}" 2>/dev/null; then
  if ! git fetch --no-tags --depth=1 origin "$base" >/dev/null 2>&1; then
    echo "::error title=calint diff::cannot find or fetch the base commit $base (use actions/checkout with fetch-depth: 0)"
    exit 2
  fi
fi

paths=()
read -r -d '' -a paths <<< "${INPUT_PATHS:-.}" || true
[ "${#paths[@]}" -gt 0 ] || paths=(.)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
args=(diff --base "$base" "${paths[@]}" --format human --report "markdown=$file" --report "json=$work/diff.json")
[ -n "${INPUT_CONFIG:-}" ] && args+=(--config "$INPUT_CONFIG")
if [ -n "${GITHUB_REPOSITORY:-}" ] && [ -n "${GITHUB_SHA:-}" ]; then
  args+=(--link-base "${GITHUB_SERVER_URL:-https://github.com}/$GITHUB_REPOSITORY/blob/$GITHUB_SHA/")
fi

"$calint" "${args[@]}"
code=$?
if [ "$code" -gt 1 ] || [ ! -f "$work/diff.json" ]; then
  {
    echo "## calint diff"
    echo
    echo "calint diff could not run (exit code $code): see the step log for the error."
  } >> "$summary"
  exit 2
fi

count() { grep -o "\"$1\": *[0-9][0-9]*" "$work/diff.json" | head -n 1 | grep -o '[0-9][0-9]*$'; }
opened="$(count opened)"
{
  echo "diff-file=$file"
  echo "opened=${opened:-0}"
  echo "closed=$(count closed)"
  echo "changed=$(count changed)"
} >> "$output"
cat "$file" >> "$summary"
if [ "$fail_on_opened" = true ] && [ "${opened:-0}" -gt 0 ]; then
  echo "::error title=calint diff::this change opens ${opened} connection(s); see the job summary"
  exit 1
fi
exit 0
