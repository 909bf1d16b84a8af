#!/usr/bin/env bash
# scripts/check-arrows refuses a forbidden include and accepts allowed ones, on a small tree.
set -euo pipefail
CHECK="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/docs" "$tmp/relayer" "$tmp/cli" "$tmp/api"
printf 'arrow relayer -> api\narrow cli -> relayer api\narrow api -> \n' >"$tmp/docs/architecture.md"
printf '#include "api/server.hpp"\n#include "relayer/node.hpp"\n' >"$tmp/relayer/node.cpp"
printf '#include "relayer/node.hpp"\n' >"$tmp/cli/main.cpp"
printf '#pragma once\n' >"$tmp/api/server.hpp"
"$CHECK" "$tmp" >/dev/null || { echo "FAIL: an allowed tree was refused"; exit 1; }
printf '#include "cli/main.hpp"\n' >"$tmp/relayer/bad.cpp"
printf '#include "relayer/node.hpp"\n' >"$tmp/api/bad.cpp"
if out=$("$CHECK" "$tmp"); then echo "FAIL: forbidden includes were accepted"; exit 1; fi
grep -q 'relayer/bad.cpp:1: relayer -> cli/main.hpp' <<<"$out" || { echo "FAIL: $out"; exit 1; }
grep -q 'api/bad.cpp:1: api -> relayer/node.hpp' <<<"$out" || { echo "FAIL: $out"; exit 1; }
echo "check-arrows self-test: ok"
