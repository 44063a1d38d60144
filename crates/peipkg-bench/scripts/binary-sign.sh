#!/usr/bin/env bash
# Signing a large ELF with `peipkg-build binary-sign`: wall time and peak
# RSS, next to sha256sum of the same file (the hashing floor). The ELF is a
# small C program with SIZE_MIB of random bytes added as a section.
#   bash crates/peipkg-bench/scripts/binary-sign.sh [SIZE_MIB] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../../.."
size_mib=${1:-1024}
runs=${2:-3}
bin=${PEIPKG_BUILD:-target/release/peipkg-build}
[ -x "$bin" ] || cargo build --release -q -p peipkg-build
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf 'int main(void){return 0;}\n' >"$dir/p.c"
cc -o "$dir/p" "$dir/p.c"
head -c "${size_mib}M" /dev/urandom >"$dir/blob"
objcopy --add-section .bulk="$dir/blob" --set-section-flags .bulk=noload,readonly "$dir/p" "$dir/big"
rm "$dir/blob"
head -c 32 /dev/urandom >"$dir/key"
echo "input: $(stat -c %s "$dir/big") bytes, $(nproc) cores"
for i in $(seq "$runs"); do
  cp "$dir/big" "$dir/run"
  sync
  /usr/bin/time -f "binary-sign: %e s wall, %U s user, %S s sys, %M KiB max RSS" \
    "$bin" binary-sign --in "$dir/run" --key "$dir/key"
  /usr/bin/time -f "sha256sum:   %e s wall, %U s user, %S s sys, %M KiB max RSS" \
    sha256sum "$dir/big" >/dev/null
done
