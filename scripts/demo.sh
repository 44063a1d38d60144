#!/usr/bin/env bash
# A self-contained farm demo: no network, no set-up. Builds the three
# programs, then `peipkg-manager demo` lays out a farm in a directory
# (local upstream git repositories with tags, a fresh signing key, recipes, a
# config, a local rclone remote defined in a file there), runs one `--once`
# sweep, and shows the published repository, `explain`, and
# `peipkg-repo verify --mode both`. The farm is kept (in DIR if given, a new
# or empty directory; else in a new temporary directory) and the closing
# lines say how to run it again.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\n== %s\n' "$*"; }

say "step 1/3: checking the tools the demo drives"
missing=()
for tool in cargo git; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "demo.sh: missing: ${missing[*]} (apt-get install -y git; Rust from https://rustup.rs)" >&2
  exit 1
fi
if ! command -v rclone >/dev/null; then
  cat >&2 <<'WARN'
************************************************************************
WARNING: rclone is not installed, so this demo will NOT upload: its config
falls back to [upload] backend = "none" (the repository stays local).
Install it to see the upload step:  apt-get install -y rclone
************************************************************************
WARN
fi

say "step 2/3: building peipkg-build, peipkg-repo and peipkg-manager (release; the first build takes a few minutes)"
cargo build --release --bins
export PATH="$PWD/target/release:$PATH"

say "step 3/3: running the demo farm (peipkg-manager demo${1:+ --dir $1})"
if [ $# -gt 0 ]; then
  exec peipkg-manager demo --dir "$1"
fi
exec peipkg-manager demo
