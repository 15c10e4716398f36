#!/usr/bin/env bash
# expect-build-failure.sh BUILD_DIR TARGET: passes when building TARGET fails because a header is not on its
# include path (the layering holds), and fails when it builds or fails for another reason.
out=$(cmake --build "$1" --target "$2" 2>&1)
rc=$?
printf '%s\n' "$out" | tail -5
if [ "$rc" -eq 0 ]; then
  echo "expect-build-failure.sh: $2 built: a library can include a header against the layering" >&2
  exit 1
fi
if ! grep -q "fatal error: .*: No such file or directory" <<<"$out"; then
  echo "expect-build-failure.sh: $2 failed for another reason than a header out of reach" >&2
  exit 1
fi
