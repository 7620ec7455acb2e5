#!/usr/bin/env bash
# package.sh -- build the Debian package dist/gatewayd_VERSION_ARCH.deb
# from this tree (debian/: debhelper and the CMake install rules), then
# check it with lintian, whose every line is printed; an error fails.
# Installs what is missing first (tools/setup.sh, as root or with sudo).
#   tools/package.sh
# The build runs on a copy of the tree in build/deb/, so the tree stays
# clean; the debug symbols (.ddeb) go to dist/ beside the package.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh

top=$PWD
stage=$top/build/deb
src=$stage/src

version=$(sed -n 's/^project(gatewayd VERSION \([0-9.]*\).*/\1/p' \
    CMakeLists.txt)
pkgversion=$(dpkg-parsechangelog -l debian/changelog -S Version)
if [ -z "$version" ] || [ "$pkgversion" != "$version" ]; then
	echo "package: debian/changelog is at $pkgversion, CMakeLists.txt" \
	    "at ${version:-?}: add a changelog entry for $version" >&2
	exit 1
fi
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=gatewayd_${version}_${arch}.deb

rm -rf "$stage"
mkdir -p "$src"
# The files of the tree, committed or not, but none that git ignores (the
# build directories, dist/).
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard |
	    while IFS= read -r -d '' f; do
		[ -e "$f" ] && printf '%s\0' "$f"
	    done | tar -c --null -T - | tar -x -C "$src"
else
	tar -c --exclude='./build*' --exclude=./dist --exclude=./.git . |
	    tar -x -C "$src"
fi

echo "package: building $deb"
(
	cd "$src"
	DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
	    dpkg-buildpackage -b --no-sign
) >"$stage/build.log" 2>&1 || {
	tail -n 40 "$stage/build.log" >&2
	echo "package: dpkg-buildpackage failed; the log: $stage/build.log" >&2
	exit 1
}
mkdir -p dist
rm -f dist/gatewayd_*.deb dist/gatewayd-dbgsym_*.ddeb
cp "$stage/$deb" dist/
cp "$stage"/gatewayd-dbgsym_*.ddeb dist/ 2>/dev/null || true

echo "package: lintian dist/$deb"
lintian --info --tag-display-limit 0 "dist/$deb" | tee "$stage/lintian.log" || true
if grep -q '^E: ' "$stage/lintian.log"; then
	echo "package: lintian reports errors" >&2
	exit 1
fi
echo "package: dist/$deb"
