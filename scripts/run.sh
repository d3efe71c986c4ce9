#!/usr/bin/env bash
# scripts/run.sh: installs what is missing, builds the static sipring, and runs it in the
# foreground on its embedded defaults (or with the options given). Registrations are kept
# across restarts in state/ of the working tree (STATE_DIRECTORY, the default of --state-dir).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/deps.sh
[ -f build/build.ninja ] || meson setup build >&2
ninja -C build src/sipring >&2
export STATE_DIRECTORY=${STATE_DIRECTORY:-$top/state}
exec build/src/sipring "$@"
