#!/usr/bin/env bash
# The whole test suite: formatting, lints, then every test in the workspace.
# Integration tests drive the real binaries, so those are built first.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
# Unused dependencies (.ci/run installs cargo-machete; elsewhere: cargo install cargo-machete).
if command -v cargo-machete >/dev/null 2>&1; then
  cargo machete
else
  echo "note: cargo-machete not installed; unused-dependency check skipped (cargo install cargo-machete --locked)" >&2
fi
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo build --workspace --bins --locked
cargo test --workspace --locked
