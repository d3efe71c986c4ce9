#!/usr/bin/env bash
# bench/run_parse_bench.sh: builds and runs the parser benchmark (on demand, not in CI).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/deps.sh
[ -f build-bench/build.ninja ] || meson setup build-bench -Dbench=true -Dtests=false >&2
ninja -C build-bench bench/parse_bench >&2
build-bench/bench/parse_bench corpus/sip/bench "${1:-3}"
