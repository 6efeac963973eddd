#!/usr/bin/env bash
# Python onnxruntime with lp-onnx's custom-op library, for real, on two releases:
# - the newest onnxruntime that pip installs offline here (the wheels these machines carry), in a
#   venv under build/venv-ort (scripts/python-venv.sh): the release a user's `pip install
#   onnxruntime` gets today;
# - Debian trixie's python3-onnxruntime 1.21 (bookworm has none), the oldest the library's C API
#   allows, in a minimal trixie root made with debootstrap under build/trixie (about a minute; needs
#   root, chroot and Debian's package mirror).
# The cases of scripts/make-python-cases.ts run through scripts/python-ort-check.py on each. Where a
# runtime cannot be had it says so and that half passes; a case that fails exits 1.
# Usage: bash scripts/python-ort.sh
set -uo pipefail
cd "$(dirname "$0")/.."
lib=build/Release/liblp_onnx_ops.so
[ -f "$lib" ] || { echo "python-ort: $lib is missing (npm run build:native)" >&2; exit 1; }
[ -f dist/scripts/make-python-cases.js ] || { echo "python-ort: run npm run build first" >&2; exit 1; }
failed=0

# the newest onnxruntime pip installs from the wheels on disk
newest() {
  local venv=build/venv-ort why
  why=$(bash scripts/python-venv.sh "$venv" onnxruntime numpy onnx) || { echo "python-ort (pip): skipped: $why"; return; }
  local cases=build/python-ort-cases
  rm -rf "$cases"
  node dist/scripts/make-python-cases.js "$cases" || return 1
  "$venv/bin/python" scripts/python-ort-check.py "$lib" "$cases" || failed=1
}

# Debian trixie's onnxruntime 1.21 in a chroot
trixie() {
  local root=build/trixie
  [ "$(id -u)" = 0 ] || { echo "python-ort (trixie): skipped: needs root (debootstrap, chroot)"; return; }
  if [ ! -x "$root/usr/bin/python3" ] || ! chroot "$root" python3 -c 'import onnxruntime, numpy' 2>/dev/null; then
    command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null ||
      { echo "python-ort (trixie): skipped: debootstrap cannot be installed"; return; }
    local uri
    uri=$(grep -rhoE '^URIs: *[^ ]+/debian/?$' /etc/apt/sources.list.d/ 2>/dev/null | head -1 | sed 's/^URIs: *//')
    rm -rf "$root" && mkdir -p "$root"
    debootstrap --variant=minbase trixie "$root" "${uri:-http://deb.debian.org/debian}" >/dev/null ||
      { echo "python-ort (trixie): skipped: debootstrap of Debian trixie failed"; return; }
    chroot "$root" /bin/sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-onnxruntime python3-numpy >/dev/null' ||
      { echo "python-ort (trixie): skipped: python3-onnxruntime could not be installed in the trixie root"; return; }
  fi
  local work="$root/tmp/lp-onnx"
  rm -rf "$work" && mkdir -p "$work"
  node dist/scripts/make-python-cases.js "$work/cases" || return 1
  cp "$lib" scripts/python-ort-check.py "$work/"
  mountpoint -q "$root/proc" || mount --bind /proc "$root/proc" || { echo "python-ort (trixie): skipped: /proc cannot be bind-mounted into the root"; return; }
  # (Debian's onnxruntime prints ONNX schema re-registration notices on stderr: not ours)
  chroot "$root" python3 /tmp/lp-onnx/python-ort-check.py /tmp/lp-onnx/liblp_onnx_ops.so /tmp/lp-onnx/cases 2> >(grep -v -E '^Schema error|^$' >&2) || failed=1
  umount "$root/proc" 2>/dev/null || true
}

newest || failed=1
trixie || failed=1
exit $failed
