#!/usr/bin/env bash
# Python onnxruntime with lp-onnx's custom-op library, for real (issue 12): Debian's bookworm has no
# python3-onnxruntime, trixie has 1.21, so a minimal trixie root is made with debootstrap under
# build/trixie (about a minute), the cases of scripts/make-python-cases.ts and the library are
# copied in, and scripts/python-ort-check.py runs there (chroot; /proc bind-mounted for the run).
# Needs root, debootstrap and Debian's package mirror: where the root cannot be made (no root, no
# chroot, no mirror) it says so and exits 0; a case that fails exits 1.
# Usage: bash scripts/python-ort.sh
set -uo pipefail
cd "$(dirname "$0")/.."
root=build/trixie
lib=build/Release/liblp_onnx_ops.so
skip() {
  echo "python-ort: skipped: $1"
  exit 0
}
[ -f "$lib" ] || { echo "python-ort: $lib is missing (npm run build:native)" >&2; exit 1; }
[ -f dist/scripts/make-python-cases.js ] || { echo "python-ort: run npm run build first" >&2; exit 1; }
[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, chroot)"
if [ ! -x "$root/usr/bin/python3" ] || ! chroot "$root" python3 -c 'import onnxruntime, numpy' 2>/dev/null; then
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null || skip "debootstrap cannot be installed"
  uri=$(grep -rhoE '^URIs: *[^ ]+/debian/?$' /etc/apt/sources.list.d/ 2>/dev/null | head -1 | sed 's/^URIs: *//')
  rm -rf "$root" && mkdir -p "$root"
  debootstrap --variant=minbase trixie "$root" "${uri:-http://deb.debian.org/debian}" >/dev/null || skip "debootstrap of Debian trixie failed"
  chroot "$root" /bin/sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-onnxruntime python3-numpy >/dev/null' ||
    skip "python3-onnxruntime could not be installed in the trixie root"
fi
work="$root/tmp/lp-onnx"
rm -rf "$work" && mkdir -p "$work"
node dist/scripts/make-python-cases.js "$work/cases" || exit 1
cp "$lib" scripts/python-ort-check.py "$work/"
mountpoint -q "$root/proc" || mount --bind /proc "$root/proc" || skip "/proc cannot be bind-mounted into the trixie root"
trap 'umount "$root/proc" 2>/dev/null || true' EXIT
# (Debian's onnxruntime prints ONNX schema re-registration notices on stderr: not ours)
chroot "$root" python3 /tmp/lp-onnx/python-ort-check.py /tmp/lp-onnx/liblp_onnx_ops.so /tmp/lp-onnx/cases 2> >(grep -v -E '^Schema error|^$' >&2)
