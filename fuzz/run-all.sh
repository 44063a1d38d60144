#!/usr/bin/env bash
# Run every fuzz target for SECONDS each (default 600), one after another,
# and print each target's last libFuzzer status line. Needs cargo-fuzz; on a
# stable toolchain RUSTC_BOOTSTRAP=1 lets it pass the sanitizer flags.
set -u
cd "$(dirname "$0")"
secs=${1:-600}
mkdir -p logs
for t in $(cargo fuzz list); do
  RUSTC_BOOTSTRAP=1 cargo fuzz run -O "$t" "corpus/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -max_len=1048576 >"logs/$t.log" 2>&1
  echo "$t: exit $? :: $(grep -E '^(#[0-9]+|Done|==|SUMMARY)' "logs/$t.log" | tail -1)"
done
