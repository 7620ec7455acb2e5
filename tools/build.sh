#!/usr/bin/env bash
# build.sh -- configure and build into build/ (or build-NAME with a
# sanitizer): tools/build.sh [plain|asan|tsan|fuzz] [TARGET...]
# fuzz: the libFuzzer targets of tests/fuzz, with clang, AddressSanitizer
# and UndefinedBehaviorSanitizer, into build-fuzz/ (tests/fuzz/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-plain}
shift || true
extra=()
case $kind in
plain) dir=build; san="" ;;
asan)  dir=build-asan; san="address,undefined" ;;
tsan)  dir=build-tsan; san="thread" ;;
fuzz)  dir=build-fuzz; san="address,undefined"
       extra=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
              -DGW_FUZZ=ON -DBUILD_TESTING=OFF) ;;
*) echo "usage: tools/build.sh [plain|asan|tsan|fuzz]" >&2; exit 64 ;;
esac
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGW_SANITIZE="$san" \
    "${extra[@]}" >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
# The fuzz build needs only its fuzzers.
if [ "$kind" = fuzz ] && [ ${#targets[@]} -eq 0 ]; then
	targets=(--target fuzz)
fi
cmake --build "$dir" -j "$(nproc)" "${targets[@]}"
