#!/usr/bin/env bash
# Seed each fuzz target's corpus from the conformance fixtures: whole
# packages, their tar streams, and every JSON document inside them and in
# the repository states.
set -euo pipefail
cd "$(dirname "$0")"
C=${PEIPKG_CONFORMANCE_DIR:-../../shared/conformance}
for t in archive_reader archive_tar manifest_json files_json signature_envelope repo_descriptor repo_index writer_roundtrip binary_sign; do
  mkdir -p "corpus/$t"
done
# writer_roundtrip reads 4-byte entry records after a sort flag: one sorted
# and one unsorted stream of a file, a directory and a symlink.
printf '\x01\x01\x00\x00\x05\x00\x01\x03\x00\x02\x02\x05\x00' > corpus/writer_roundtrip/seed-sorted
printf '\x00\x01\x00\x00\x05\x00\x01\x03\x00' > corpus/writer_roundtrip/seed-unsorted
# binary_sign: small ELF files of several shapes (stripped, shared object).
printf 'int f(void){return 1;}\nint main(void){return f();}\n' > /tmp/peipkg-fuzz-seed.c
cc -s -o corpus/binary_sign/seed-exe /tmp/peipkg-fuzz-seed.c || true
cc -s -shared -fPIC -o corpus/binary_sign/seed-so /tmp/peipkg-fuzz-seed.c || true
rm -f /tmp/peipkg-fuzz-seed.c
i=0
for f in "$C"/*/expected*/*.peipkg; do cp "$f" "corpus/archive_reader/seed-$i"; i=$((i+1)); done
for f in "$C"/*/expected*/*.tar; do cp "$f" "corpus/archive_tar/seed-$i"; i=$((i+1)); done
python3 - "$C" <<'PY'
import glob, sys
C = sys.argv[1]
def entries(d):
    off = 0
    while off + 512 <= len(d):
        h = d[off:off + 512]
        if h == b'\0' * 512:
            break
        size = int(h[124:136].strip(b'\0 ') or b'0', 8)
        yield h[0:100].rstrip(b'\0').decode('latin1'), d[off + 512:off + 512 + size]
        off += 512 + ((size + 511) // 512) * 512
n = 0
def put(target, data):
    global n
    open(f'corpus/{target}/seed-doc-{n}', 'wb').write(data)
    n += 1
targets = {'.peipkg/manifest.json': 'manifest_json', '.peipkg/files.json': 'files_json',
           '.peipkg/signature': 'signature_envelope'}
for t in glob.glob(C + '/*/expected*/*.tar'):
    for name, content in entries(open(t, 'rb').read()):
        if name in targets:
            put(targets[name], content)
for f in glob.glob(C + '/repo-basic/expected/*/repo.json'):
    put('repo_descriptor', open(f, 'rb').read())
for f in glob.glob(C + '/repo-basic/expected/*/index/*.json'):
    put('repo_index', open(f, 'rb').read())
for f in glob.glob(C + '/repo-basic/expected/*/*.sig') + glob.glob(C + '/repo-basic/expected/*/index/*.sig'):
    put('signature_envelope', open(f, 'rb').read())
PY
