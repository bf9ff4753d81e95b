#!/usr/bin/env bash
# The installed-package check (CI): build the wheel, install it into a fresh virtualenv, and run
# `mv2desc demo` from an empty folder outside the checkout. The fresh venv sees the pinned
# dependencies of .venv through a .pth line (no second 2.5 GB install); mv2desc itself, its configs
# and assets come only from the wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# built from a copy of the project's files (tracked + untracked, not ignored): no stale build/ leaks in
mkdir "$work/src"
git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$work/src"
.venv/bin/pip wheel --quiet --no-deps --no-build-isolation -w "$work/dist" "$work/src" 2> >(grep -v "is ignored" >&2 || true)
wheel=$(ls "$work"/dist/mv2desc-*.whl)
python_bin=$(.venv/bin/python -c 'import sys; print(sys._base_executable)')
"$python_bin" -m venv "$work/venv"
site_new=$("$work/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
site_deps=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$site_deps" > "$site_new/mv2desc-deps.pth"
"$work/venv/bin/pip" install --quiet --no-deps --no-index "$wheel"
mkdir "$work/elsewhere"
cd "$work/elsewhere"
where=$("$work/venv/bin/python" -c 'import mv2desc, mv2desc.paths as p; print(mv2desc.__file__, p.DATA_ROOT)')
echo "[wheel] $(basename "$wheel"): mv2desc and its data from $where"
case "$where" in *"$work/venv/"*"$work/venv/"*) ;; *) echo "[wheel] ERROR: not imported from the wheel's install" >&2; exit 1 ;; esac
"$work/venv/bin/mv2desc" presets infer
"$work/venv/bin/mv2desc" demo --out demo "$@"
test -s demo/mv/mv.mp4 && test -s demo/mv/report.json
echo "[wheel] the installed wheel ran the demo from $(pwd)"
