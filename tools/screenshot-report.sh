#!/usr/bin/env bash
# Takes a PNG screenshot of an HTML report in headless Chromium, optionally with a cell
# or case opened through the page's fragment.
#
#   tools/screenshot-report.sh RESULTS_HTML OUT_PNG [FRAGMENT]
#
#   tools/screenshot-report.sh report.html shot.png 'udp::python-client::title-case-server::hello'
#
# FRAGMENT is a cell (`udp::python-client::rust-server`) or a unit id; it is opened as
# `report.html#FRAGMENT`. Environment: CHROMIUM (the browser binary; default: the first of
# chromium, chromium-browser, google-chrome found), SCREENSHOT_SIZE (default 1400,2000),
# SCREENSHOT_TIMEOUT (seconds, default 60). Chromium runs with a throwaway profile and no
# network access beyond the file itself. Exit status: 0 with the PNG written, 1 when the
# browser fails or times out, 2 on a usage error or a missing browser.
set -euo pipefail

usage() {
    echo "usage: $0 RESULTS_HTML OUT_PNG [FRAGMENT]" >&2
    exit 2
}

[[ $# -ge 2 && $# -le 3 ]] || usage
html=$1
out=$2
fragment=${3:-}

[[ -f $html ]] || { echo "error: no such report: $html" >&2; exit 2; }

browser=${CHROMIUM:-}
if [[ -z $browser ]]; then
    for candidate in chromium chromium-browser google-chrome; do
        if command -v "$candidate" >/dev/null; then
            browser=$candidate
            break
        fi
    done
fi
if [[ -z $browser ]]; then
    echo "error: no Chromium found; install it (Debian: apt-get install chromium) or set CHROMIUM" >&2
    exit 2
fi

# An absolute file URL; the fragment is percent-encoded except for characters that are
# safe in a fragment (unit ids use letters, digits, '-', '.', '_' and ':').
abs=$(cd "$(dirname "$html")" && pwd)/$(basename "$html")
url="file://$abs"
if [[ -n $fragment ]]; then
    encoded=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=":-._~"))' "$fragment")
    url="$url#$encoded"
fi

mkdir -p "$(dirname "$out")"
out_abs=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
rm -f "$out_abs"

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT

# --virtual-time-budget lets the page's script run before the capture.
status=0
timeout --kill-after=5 "${SCREENSHOT_TIMEOUT:-60}" "$browser" \
    --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
    --disable-extensions --disable-sync --hide-scrollbars --user-data-dir="$profile" \
    --virtual-time-budget=2000 --window-size="${SCREENSHOT_SIZE:-1400,2000}" \
    --screenshot="$out_abs" "$url" >"$profile/log" 2>&1 || status=$?

if [[ $status -ne 0 || ! -s $out_abs ]]; then
    if [[ $status -eq 124 || $status -eq 137 ]]; then
        echo "error: $browser timed out after ${SCREENSHOT_TIMEOUT:-60} s" >&2
    else
        echo "error: $browser failed (exit status $status); its output:" >&2
    fi
    tail -n 20 "$profile/log" >&2
    exit 1
fi
echo "$out_abs"
