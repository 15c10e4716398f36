#!/usr/bin/env bash
# expect.sh CODE REGEX... -- COMMAND...: runs COMMAND and passes when it exits with CODE and every extended regular
# expression REGEX matches a line of its combined output. Prints the output either way, so a failure shows it.
code=$1
shift
regexes=()
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do regexes+=("$1"); shift; done
shift
out=$("$@" 2>&1)
rc=$?
printf '%s\n' "$out"
if [ "$rc" -ne "$code" ]; then
  echo "expect.sh: exit code $rc, expected $code" >&2
  exit 1
fi
for r in "${regexes[@]}"; do
  if ! grep -Eq -- "$r" <<<"$out"; then
    echo "expect.sh: no output line matches: $r" >&2
    exit 1
  fi
done
