#!/usr/bin/env bash
# The farm host's share of a cluster build (docs/SCALE-OUT.md): `peipkg-build
# seal` of a staged tree, against `peipkg-build build` of the same recipe
# and `peipkg-build stage` (the node's share). Byte identity of seal's and
# build's packages is checked. Usage:
#   crates/peipkg-bench/scripts/seal.sh [WORKDIR] [BYTES] [FILES] [RUNS]
# after `cargo build --release -p peipkg-build -p peipkg-bench`. The default
# tree is the W2-shaped large workload (256 MiB, 3,000 files, 16 symlinks).
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
bin=${CARGO_TARGET_DIR:-$root/target}/release
work=${1:-$(mktemp -d)}
bytes=${2:-268435456}
files=${3:-3000}
runs=${4:-3}
rm -rf "$work" && mkdir -p "$work/recipe" "$work/src"
"$bin/bench-build" worker tree w2 "$bytes" "$files" 16 "$work/src/usr/share/synth" > /dev/null
cat > "$work/recipe/peipkg.toml" <<'TOML'
[meta]
license = "MIT"
build_script = "build.sh"

[[package]]
name = "synth"
architecture = "noarch"
description = "synthetic W2-shaped payload"
files = ["usr/**"]
TOML
printf '#!/bin/sh\nset -e\ncp -a "$SOURCE_DIR"/. "$DESTDIR"/\n' > "$work/recipe/build.sh"
chmod +x "$work/recipe/build.sh"
"$bin/peipkg-build" keygen --out "$work/key" > /dev/null
common=(--recipe "$work/recipe/peipkg.toml" --version 1.0-1 --source-ref bench://seal
  --farm-id bench --timestamp 2026-05-06T12:00:00Z)
t() { /usr/bin/time -f "$1: %e s wall, %U+%S s CPU, %M KiB peak RSS" "${@:2}" > /dev/null; }
for i in $(seq "$runs"); do
  rm -rf "$work/out-build" "$work/out-seal" "$work/staged"
  t "build (script + seal, local)" "$bin/peipkg-build" build "${common[@]}" --source "$work/src" \
    --out "$work/out-build" --sign-key "$work/key" --sandbox none
  t "stage (node: script only)   " "$bin/peipkg-build" stage "${common[@]}" --source "$work/src" \
    --staged "$work/staged" --sandbox none
  t "seal (host: copy + pack)    " "$bin/peipkg-build" seal "${common[@]}" --staged "$work/staged" \
    --out "$work/out-seal" --sign-key "$work/key"
  cmp "$work"/out-build/*.peipkg "$work"/out-seal/*.peipkg
done
ls -l "$work"/out-seal/*.peipkg | awk '{print "package bytes:", $5}'
echo "seal and build packages byte-identical in every run"
rm -rf "$work"
