#!/usr/bin/env bash
# The whole test suite: formatting, lints, then every test in the workspace.
# Integration tests drive the real binaries, so those are built first.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo build --workspace --bins --locked
cargo test --workspace --locked
