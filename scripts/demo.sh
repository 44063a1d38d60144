#!/usr/bin/env bash
# A self-contained farm demo: no network, no set-up. It builds the three
# programs, then runs the farm on a scratch directory: local upstream git
# repositories with tags, a fresh signing key, recipes and a config; one
# `peipkg-manager --once` pass; then shows the published repository and
# verifies it. Pass a directory to keep the result there.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bins --quiet
export PATH="$PWD/target/release:$PATH"
work=${1:-$(mktemp -d -t peipkg-demo.XXXXXX)}
mkdir -p "$work"
echo "demo directory: $work"

if peipkg-manager help 2>&1 | grep -qw demo; then
  exec peipkg-manager demo --dir "$work"
fi

# Until the manager drives it, the same flow by hand with the two tools.
C=$PWD/../shared/conformance
key=$work/farm.key
rm -f "$key"
fp=$(peipkg-build keygen --out "$key" | sed -n 's/^fingerprint (raw): //p')
mkdir -p "$work/packages" "$work/repo"
peipkg-build build --recipe "$C/libfoo-split/recipe/peipkg.toml" --source "$C/libfoo-split/source" \
  --version '1:1.2.3~rc1-2' --source-ref 'demo://libfoo' --farm-id demo \
  --timestamp 2026-05-06T13:30:00Z --out "$work/packages" --sign-key "$key"
for p in "$work"/packages/*.peipkg; do peipkg-build inspect "$p" | head -3; done
if peipkg-repo help >/dev/null 2>&1; then
  rm -rf "$work/repo" && peipkg-repo init --name demo --description "Demo repository" \
    --sign-key "$key" --timestamp 2026-05-07T00:00:00Z --out "$work/repo"
  peipkg-repo publish --in "$work/repo" --new "$work/packages" --sign-key "$key" \
    --timestamp 2026-05-07T01:00:00Z --out "$work/repo"
  find "$work/repo" -type f | sort
  peipkg-repo verify --dir "$work/repo" --mode both
else
  for p in "$work"/packages/*.peipkg; do peipkg-build verify "$p" --fingerprint "$fp"; done
fi
