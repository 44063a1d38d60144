#!/usr/bin/env bash
# Latency of the manager's HTTP endpoints, one fresh connection per request
# (as a monitoring poller does), against a throwaway farm with one recipe.
#
#   scripts/http-probe.sh [MANAGER_BIN] [REQUESTS]
#
# MANAGER_BIN defaults to target/release/peipkg-manager (falls back to
# target/debug); peipkg-build and peipkg-repo are taken from the same
# directory, or from $TOOLS_DIR. Prints median and p95 of curl's time_total per endpoint, in ms.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$here/target/release/peipkg-manager}
[ -x "$bin" ] || bin=$here/target/debug/peipkg-manager
n=${2:-200}
bindir=${TOOLS_DIR:-$(dirname "$bin")}

work=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/recipes/pkg" "$work/up"
git -C "$work/up" init -q
echo one >"$work/up/a.txt"
git -C "$work/up" add a.txt
git -C "$work/up" -c user.name=p -c user.email=p@p commit -qm one
git -C "$work/up" tag v1.0.0
cat >"$work/recipes/pkg/peipkg.toml" <<EOF
[meta]
license = "MIT"
build_script = "build.sh"

[[package]]
name = "pkg"
architecture = "noarch"
description = "probe package"
files = ["usr/share/pkg/**"]

[upstream]
git = "$work/up"
tag_pattern = '^v(\d+\.\d+\.\d+)$'
peios_revision = 1

[watch]
poll_interval = "1h"
EOF
printf '#!/bin/sh\nset -e\nmkdir -p "$DESTDIR/usr/share/pkg"\ncp "$SOURCE_DIR/a.txt" "$DESTDIR/usr/share/pkg/"\n' >"$work/recipes/pkg/build.sh"
chmod +x "$work/recipes/pkg/build.sh"
"$bindir/peipkg-build" keygen --out "$work/farm.key" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/config.toml" <<EOF
[manager]
id = "probe"
recipes_dir = "$work/recipes"
state_dir = "$work/state"

[repo]
name = "probe"

[signing]
key_file = "$work/farm.key"

[poll]
default_interval = "1h"

[build]
peipkg_build = "$bindir/peipkg-build"
peipkg_repo = "$bindir/peipkg-repo"

[http]
addr = "127.0.0.1:$port"
EOF
"$bin" --config "$work/config.toml" 2>"$work/daemon.err" &
pid=$!
for _ in $(seq 1 200); do
    grep -q 'build + publish complete' "$work/daemon.err" 2>/dev/null && break
    sleep 0.1
done

if ! kill -0 "$pid" 2>/dev/null; then cat "$work/daemon.err" >&2; exit 1; fi
report() {
    sort -n | awk -v p="$1" '{ v[NR] = $1 * 1000 } END {
        printf "%-22s n=%d median %.1f ms  p95 %.1f ms\n", p, NR, v[int((NR + 1) / 2)], v[int(NR * 0.95)]
    }'
}
for path in /healthz / /status /metrics; do
    # A fresh connection per request.
    for _ in $(seq 1 "$n"); do
        curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port$path"
    done | report "$path (new conn)"
    # One keep-alive connection for all requests, as pollers that reuse
    # connections do; time_total of each transfer after the first.
    urls=()
    for _ in $(seq 1 "$n"); do urls+=(-o /dev/null "http://127.0.0.1:$port$path"); done
    curl -s -w '%{time_total}\n' "${urls[@]}" | tail -n +2 | report "$path (keep-alive)"
done
