#!/usr/bin/env bash
# build.sh -- configure and build into build/ (or build-NAME with a
# sanitizer): tools/build.sh [plain|asan|tsan] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-plain}
shift || true
case $kind in
plain) dir=build; san="" ;;
asan)  dir=build-asan; san="address,undefined" ;;
tsan)  dir=build-tsan; san="thread" ;;
*) echo "usage: tools/build.sh [plain|asan|tsan]" >&2; exit 64 ;;
esac
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGW_SANITIZE="$san" >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$dir" -j "$(nproc)" "${targets[@]}"
