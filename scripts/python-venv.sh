#!/usr/bin/env bash
# A venv with Python packages from the wheels these machines carry (the local wheel folders and
# file:// indexes pip is configured with; the default index is replaced, since pip would retry the
# unreachable one for minutes). Kept between runs; remade when a package does not import.
# Usage: bash scripts/python-venv.sh DIR PACKAGE... (import names = package names)
# Exits 0 with DIR ready, or 3 with the reason on stdout when it cannot be made here.
set -uo pipefail
venv=$1
shift
python=$(command -v python3) || { echo "no python3"; exit 3; }
imports=$(IFS=,; echo "$*")
"$venv/bin/python" -c "import $imports" 2>/dev/null && exit 0
opts=() local_indexes=() sources=0
for u in $(pip config get global.extra-index-url 2>/dev/null); do
  case "$u" in file://*) local_indexes+=("$u") sources=1 ;; esac
done
if [ ${#local_indexes[@]} -gt 0 ]; then opts+=(--index-url "${local_indexes[0]}"); else opts+=(--no-index); fi
for d in $(pip config get global.find-links 2>/dev/null) $(pip config get :env:.find-links 2>/dev/null); do
  [ -d "$d" ] && opts+=(--find-links "$d") && sources=1
done
[ $sources = 1 ] || { echo "pip has no local wheels or index configured"; exit 3; }
rm -rf "$venv"
"$python" -m venv "$venv" >/dev/null 2>&1 || { echo "$python cannot make a venv"; exit 3; }
"$venv/bin/pip" install -q "${opts[@]}" "$@" >/dev/null 2>&1 || { echo "$* cannot be installed from the local wheels"; exit 3; }
"$venv/bin/python" -c "import $imports" 2>/dev/null || { echo "$* installed but do not import"; exit 3; }
