#!/usr/bin/env bash
# Peak RSS of `peipkg-build pack` against the number of files, at the same
# total bytes: the check that memory does not grow with the tree
# (docs/BENCHMARKS.md, "Many files"). Usage:
#   crates/peipkg-bench/scripts/pack-memory.sh [WORKDIR] [FILE_COUNTS] [LEVELS]
# after `cargo build --release -p peipkg-build -p peipkg-bench`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
bin=${CARGO_TARGET_DIR:-$root/target}/release
work=${1:-$(mktemp -d)}
counts=${2:-"1000 10000 50000 99900"}
levels=${3:-"1 11"}
mkdir -p "$work"
cat > "$work/manifest.json" <<'JSON'
{"schema_version":1,"name":"synth","version":"1.0-1","architecture":"x86_64","description":"synthetic","license":"MIT","dependencies":[],"conflicts":[],"size_installed":0,"build":{"timestamp":"2026-05-06T12:00:00Z","farm_id":"bench","source_ref":"bench://synthetic"}}
JSON
for n in $counts; do
  rm -rf "$work/tree"
  "$bin/bench-build" worker tree w2 104857600 "$n" 16 "$work/tree/usr/share/synth" > /dev/null
  for level in $levels; do
    /usr/bin/time -f "$n files, level $level: %e s wall, %U+%S s CPU, %M KiB peak RSS" \
      "$bin/peipkg-build" pack --manifest "$work/manifest.json" --staged "$work/tree" \
      --out "$work/out.peipkg" --zstd-level "$level" > /dev/null
  done
done
rm -rf "$work/tree" "$work/out.peipkg"
