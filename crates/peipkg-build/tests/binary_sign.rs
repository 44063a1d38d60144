//! `peipkg-build binary-sign` on ELF files of several shapes, built here
//! with the system C compiler, plus one of this workspace's own binaries;
//! each result is checked by `common::elf_check`, which shares no code
//! with the signer. Then every refusal: the reference's text, exit 1, and
//! the input byte-for-byte untouched with no temporary file left.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::elf_check::{assert_reference_layout, public_of_seed, sections, verify_signature};
use common::{assert_fails, stderr, BIN};

const SEED: [u8; 32] = [7u8; 32];
const OTHER_SEED: [u8; 32] = [9u8; 32];

const PROGRAM: &str = "#include <stdio.h>\nint answer(void) { return 42; }\nint main(void) { printf(\"signed hello\\n\"); return answer() - 35; }\n";

struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let s = Scratch {
            dir: tempfile::tempdir().unwrap(),
        };
        fs::write(s.path("seed.key"), SEED).unwrap();
        fs::write(s.path("other.key"), OTHER_SEED).unwrap();
        fs::write(s.path("prog.c"), PROGRAM).unwrap();
        s
    }
    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
    /// Compiles prog.c with `flags`; None when this toolchain cannot.
    fn cc(&self, out: &str, flags: &[&str]) -> Option<PathBuf> {
        let o = Command::new("cc")
            .args(flags)
            .arg("-o")
            .arg(self.path(out))
            .arg(self.path("prog.c"))
            .output()
            .expect("a C compiler (cc) on PATH");
        o.status.success().then(|| self.path(out))
    }
    fn sign(&self, file: &Path, key: &str) -> Output {
        Command::new(BIN)
            .args(["binary-sign", "--in"])
            .arg(file)
            .arg("--key")
            .arg(self.path(key))
            .output()
            .unwrap()
    }
    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }
}

/// Signs `file`, checks the result independently, and returns it.
fn sign_and_check(s: &Scratch, file: &Path) -> Vec<u8> {
    let orig = fs::read(file).unwrap();
    let o = s.sign(file, "seed.key");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout.is_empty(), "binary-sign prints nothing");
    let signed = fs::read(file).unwrap();
    assert_reference_layout(&orig, &signed);
    verify_signature(&signed, &public_of_seed(&SEED)).unwrap();
    assert!(
        verify_signature(&signed, &public_of_seed(&OTHER_SEED)).is_err(),
        "must not verify under another key"
    );
    let mut tampered = signed.clone();
    tampered[100] ^= 1;
    assert!(verify_signature(&tampered, &public_of_seed(&SEED)).is_err());
    // Deterministic: a second copy signs to the same bytes.
    let copy = s.path("determinism");
    fs::write(&copy, &orig).unwrap();
    let o = s.sign(&copy, "seed.key");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        fs::read(&copy).unwrap() == signed,
        "signing is deterministic"
    );
    fs::remove_file(copy).unwrap();
    assert!(
        !s.names().iter().any(|n| n.ends_with(".peios-sig.tmp")),
        "{:?}",
        s.names()
    );
    signed
}

fn run_exit(path: &Path) -> (Option<i32>, String) {
    let o = Command::new(path).output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

#[test]
fn signs_dynamic_stripped_and_static_executables_which_still_run() {
    let s = Scratch::new();
    let mut shapes = vec![
        (
            "dynamic",
            s.cc("dynamic", &["-O1"])
                .expect("cc builds a dynamic executable"),
        ),
        ("stripped", s.cc("stripped", &["-s"]).expect("cc -s")),
        ("pie", s.cc("pie", &["-fPIE", "-pie"]).expect("cc -pie")),
    ];
    match s.cc("static", &["-static"]) {
        Some(p) => shapes.push(("static", p)),
        None => eprintln!("note: this toolchain cannot link -static (no static libc); skipped"),
    }
    for (shape, path) in shapes {
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        let before = run_exit(&path);
        sign_and_check(&s, &path);
        assert_eq!(
            run_exit(&path),
            before,
            "{shape}: the signed program runs the same"
        );
        assert_eq!(before, (Some(7), "signed hello\n".to_string()));
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o700,
            0o700,
            "{shape}: mode {mode:o} keeps the owner's bits"
        );
    }
}

#[test]
fn signs_a_shared_object() {
    let s = Scratch::new();
    let lib = s
        .cc("libprog.so", &["-shared", "-fPIC"])
        .expect("cc -shared");
    sign_and_check(&s, &lib);
    // The dynamic linker still loads it: link a program against the
    // signed library and run it.
    fs::write(
        s.path("use.c"),
        "int answer(void);\nint main(void) { return answer() == 42 ? 0 : 1; }\n",
    )
    .unwrap();
    let o = Command::new("cc")
        .arg("-o")
        .arg(s.path("use"))
        .arg(s.path("use.c"))
        .arg(&lib)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let run = Command::new(s.path("use"))
        .env("LD_LIBRARY_PATH", s.dir.path())
        .status()
        .unwrap();
    assert!(run.success());
}

#[test]
fn signs_one_of_this_workspaces_rust_binaries() {
    let s = Scratch::new();
    let copy = s.path("peipkg-build");
    fs::copy(BIN, &copy).unwrap();
    sign_and_check(&s, &copy);
    let o = Command::new(&copy).arg("help").output().unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("binary-sign"));
}

#[test]
fn a_symlink_signs_its_target_and_stays_a_symlink() {
    let s = Scratch::new();
    let target = s.cc("real", &[]).unwrap();
    std::os::unix::fs::symlink("real", s.path("link")).unwrap();
    let orig = fs::read(&target).unwrap();
    let o = s.sign(&s.path("link"), "seed.key");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(fs::symlink_metadata(s.path("link"))
        .unwrap()
        .file_type()
        .is_symlink());
    let signed = fs::read(&target).unwrap();
    assert_reference_layout(&orig, &signed);
    verify_signature(&signed, &public_of_seed(&SEED)).unwrap();
}

/// Runs binary-sign on `bytes` and asserts the exact reference message,
/// exit 1, and that nothing changed.
fn refused(s: &Scratch, name: &str, bytes: &[u8], message: &str) {
    let path = s.path(name);
    fs::write(&path, bytes).unwrap();
    let before = s.names();
    let o = s.sign(&path, "seed.key");
    let want = format!("peipkg-build: sign {}: {message}\n", path.display());
    assert_fails(&o, 1, &[]);
    assert_eq!(stderr(&o), want);
    assert!(fs::read(&path).unwrap() == bytes, "{name}: input changed");
    assert_eq!(s.names(), before, "{name}: something was left behind");
}

#[test]
fn refusals_use_the_reference_texts_and_leave_the_input_untouched() {
    let s = Scratch::new();
    let elf = fs::read(s.cc("base", &[]).unwrap()).unwrap();
    let (shoff, shnum, _, _) = sections(&elf);
    let patched = |at: usize, bytes: &[u8]| {
        let mut v = elf.clone();
        v[at..at + bytes.len()].copy_from_slice(bytes);
        v
    };
    let not_elf = "binsign: not a little-endian ELF64 binary";
    refused(
        &s,
        "text",
        b"#!/bin/sh\necho not an ELF file at all, but long enough to pass the size check\n",
        not_elf,
    );
    refused(&s, "empty", b"", not_elf);
    refused(&s, "short", &elf[..63], not_elf);
    refused(&s, "elf32", &patched(4, &[1]), not_elf);
    refused(&s, "bigendian", &patched(5, &[2]), not_elf);
    refused(&s, "badmagic", &patched(1, b"ELG"), not_elf);

    let no_table = "binsign: ELF has no usable section header table";
    refused(
        &s,
        "shentsize",
        &patched(0x3a, &40u16.to_le_bytes()),
        no_table,
    );
    // Extended numbering: e_shnum 0 (the count would be in section 0).
    refused(
        &s,
        "xindex-count",
        &patched(0x3c, &0u16.to_le_bytes()),
        no_table,
    );

    let malformed = "binsign: malformed ELF section table";
    // Extended numbering: e_shstrndx = SHN_XINDEX.
    refused(
        &s,
        "xindex-strndx",
        &patched(0x3e, &0xffffu16.to_le_bytes()),
        malformed,
    );
    refused(
        &s,
        "strndx-zero",
        &patched(0x3e, &0u16.to_le_bytes()),
        malformed,
    );
    refused(
        &s,
        "strndx-range",
        &patched(0x3e, &shnum.to_le_bytes()),
        malformed,
    );
    refused(
        &s,
        "shoff-zero",
        &patched(0x28, &0u64.to_le_bytes()),
        malformed,
    );
    refused(
        &s,
        "shoff-past-end",
        &patched(0x28, &(elf.len() as u64).to_le_bytes()),
        malformed,
    );
    refused(
        &s,
        "shoff-overflow",
        &patched(0x28, &u64::MAX.to_le_bytes()),
        malformed,
    );
    refused(&s, "truncated-table", &elf[..elf.len() - 1], malformed);
    // The string table's offset, pointing past the end.
    let (_, _, strndx, _) = sections(&elf);
    let at = shoff as usize + strndx as usize * 64 + 24;
    refused(
        &s,
        "strtab-past-end",
        &patched(at, &(elf.len() as u64).to_le_bytes()),
        malformed,
    );

    let signed_path = s.path("signed");
    fs::write(&signed_path, &elf).unwrap();
    assert_eq!(s.sign(&signed_path, "seed.key").status.code(), Some(0));
    let signed = fs::read(&signed_path).unwrap();
    refused(
        &s,
        "signed-again",
        &signed,
        "binsign: ELF already has a .peios.sig section",
    );
    // Even with another key: there is no re-signing.
    let o = s.sign(&signed_path, "other.key");
    assert_fails(&o, 1, &["already has a .peios.sig section"]);
    assert!(fs::read(&signed_path).unwrap() == signed);
}

#[test]
fn flags_keys_and_missing_files() {
    let s = Scratch::new();
    let elf = s.cc("prog", &[]).unwrap();
    let orig = fs::read(&elf).unwrap();
    let run = |args: &[&str]| Command::new(BIN).args(args).output().unwrap();
    assert_fails(&run(&["binary-sign"]), 2, &["-in", "-key"]);
    assert_fails(
        &run(&["binary-sign", "--in", elf.to_str().unwrap()]),
        2,
        &["-key"],
    );
    let missing = s.path("nope");
    let o = s.sign(&missing, "seed.key");
    assert_fails(&o, 1, &[&format!("stat {}", missing.display())]);
    let o = s.sign(&elf, "absent.key");
    assert_fails(&o, 1, &["read key", "absent.key"]);
    fs::write(s.path("hex.key"), hex_text()).unwrap();
    let o = s.sign(&elf, "hex.key");
    assert_fails(&o, 1, &["hex.key", "32-byte raw Ed25519 seed"]);
    fs::create_dir(s.path("adir")).unwrap();
    assert_fails(
        &s.sign(&s.path("adir"), "seed.key"),
        1,
        &["is not a regular file"],
    );
    assert!(fs::read(&elf).unwrap() == orig);
    // The key never reaches the output, even on error.
    assert!(!stderr(&o).contains(&hex_text()));
}

fn hex_text() -> String {
    SEED.iter().map(|b| format!("{b:02x}")).collect()
}
