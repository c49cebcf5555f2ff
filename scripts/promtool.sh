#!/usr/bin/env bash
# Runs Prometheus's promtool with the given arguments (e.g. `check metrics` on stdin). Uses the one on PATH, or
# takes promtool alone out of Debian's prometheus package, without installing the package (whose scripts would
# start a Prometheus server), into a cache directory.
set -euo pipefail
if command -v promtool >/dev/null 2>&1; then exec promtool "$@"; fi
dir=${PROMTOOL_DIR:-/tmp/dockflare-promtool}
bin="$dir/usr/bin/promtool"
if [ ! -x "$bin" ]; then
  work=$(mktemp -d)
  if ! (cd "$work" && { apt-get download prometheus >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && apt-get download prometheus >/dev/null; }; }); then
    rm -rf "$work"
    echo "promtool.sh: could not download Debian's prometheus package" >&2
    exit 1
  fi
  dpkg-deb -x "$work"/prometheus_*.deb "$work/x"
  mkdir -p "$dir/usr/bin"
  cp "$work/x/usr/bin/promtool" "$bin"
  rm -rf "$work"
fi
exec "$bin" "$@"
