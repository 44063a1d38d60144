#!/usr/bin/env bash
# A self-contained farm demo: no network, no set-up. Builds the three
# programs, then `peipkg-manager demo` lays out a farm in a scratch directory
# (local upstream git repositories with tags, a fresh signing key, recipes, a
# config, a local rclone remote), runs one `--once` sweep, and shows the
# published repository, `explain`, and `peipkg-repo verify --mode both`.
# Pass a new or empty directory to keep the result there.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bins --quiet
export PATH="$PWD/target/release:$PATH"
if [ $# -gt 0 ]; then
  exec peipkg-manager demo --dir "$1"
fi
exec peipkg-manager demo
