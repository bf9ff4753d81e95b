#!/usr/bin/env bash
# Screenshot a storyboard.html with headless Chromium (to check that it reads well).
#   scripts/screenshot_storyboard.sh runs/mv/SONG/storyboard.html [out.png] [width] [height]
set -euo pipefail
page=${1:?usage: screenshot_storyboard.sh STORYBOARD.html [OUT.png] [WIDTH] [HEIGHT]}
out=${2:-${page%.html}.png}
width=${3:-1200}
height=${4:-1800}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
  echo "error: no chromium on PATH (apt-get install -y chromium)" >&2
  exit 2
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
  --window-size="${width},${height}" --screenshot="$(realpath -m "$out")" "file://$(realpath "$page")" >/dev/null 2>&1
echo "$out"
