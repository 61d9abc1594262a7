#!/usr/bin/env bash
# Takes a PNG screenshot of an HTML page in headless Chromium, optionally with a cell, a
# case or a section opened through the page's fragment, and fails on a blank capture.
#
#   tools/screenshot-report.sh HTML OUT_PNG [FRAGMENT]
#
#   tools/screenshot-report.sh report.html shot.png 'udp::python-client::title-case-server::hello'
#   tools/screenshot-report.sh grades/grades.html student.png s-bug-title
#
# FRAGMENT is a cell (`udp::python-client::rust-server`) or a unit id of a harness report,
# or a student's section (`s-NAME`) of `grades.html`; it is opened as `page.html#FRAGMENT`
# and the PNG shows the viewport after the page has scrolled to it. Environment: CHROMIUM
# (the browser binary; default: the first of chromium, chromium-browser, google-chrome
# found), SCREENSHOT_SIZE (the viewport, default 1400,2000), SCREENSHOT_TIMEOUT (seconds,
# default 60). Chromium runs with a throwaway profile, no network access beyond the file
# itself, and is killed with its whole process group when done or out of time. The
# capture goes through the DevTools protocol (tools/page-shot.py): Chromium's own
# `--screenshot` flag paints a blank image once the page has scrolled. A capture whose
# pixels all have one colour is blank and an error. Exit status: 0 with the PNG written,
# 1 when the browser fails, times out or captures a blank image, 2 on a usage error or a
# missing browser.
set -euo pipefail

usage() {
    echo "usage: $0 HTML OUT_PNG [FRAGMENT]" >&2
    exit 2
}

[[ $# -ge 2 && $# -le 3 ]] || usage
html=$1
out=$2
fragment=${3:-}

[[ -f $html ]] || { echo "error: no such page: $html" >&2; exit 2; }

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

size=${SCREENSHOT_SIZE:-1400,2000}
if [[ ! $size =~ ^([0-9]+),([0-9]+)$ ]]; then
    echo "error: SCREENSHOT_SIZE must be WIDTH,HEIGHT in pixels, e.g. 1400,2000" >&2
    exit 2
fi
width=${BASH_REMATCH[1]}
height=${BASH_REMATCH[2]}
limit=${SCREENSHOT_TIMEOUT:-60}
if [[ ! $limit =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
    echo "error: SCREENSHOT_TIMEOUT must be a number of seconds, e.g. 60" >&2
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

# The helper bounds every wait by the limit and kills Chromium's process group itself;
# `timeout` is the last resort should the helper hang.
status=0
timeout --kill-after=10 "$((${limit%.*} + 20))" python3 "$(dirname "$0")/page-shot.py" capture \
    "$browser" "$url" "$out_abs" "$width" "$height" "$limit" || status=$?
case $status in
    0) echo "$out_abs" ;;
    124 | 137) echo "error: the capture did not end within $((${limit%.*} + 20)) s" >&2; exit 1 ;;
    *) exit 1 ;;
esac
