//! `peipkg-build stage` + `peipkg-build seal` (the split a cluster
//! executor uses so build nodes never hold a key) give the very bytes
//! `peipkg-build build` gives, `[[sign]]` included.

mod common;

use std::fs;

use common::{stderr, Fixture};

const SCRIPT: &str = r#"set -eu
mkdir -p "$DESTDIR/usr/bin" "$DESTDIR/usr/share/hello" "$DESTDIR/usr/include"
cc -O1 -o "$DESTDIR/usr/bin/hello" "$SOURCE_DIR/prog.c"
ln -s hello "$DESTDIR/usr/bin/hi"
echo hi > "$DESTDIR/usr/share/hello/MESSAGE"
chmod 0640 "$DESTDIR/usr/share/hello/MESSAGE"
echo '#define HELLO 1' > "$DESTDIR/usr/include/hello.h"
"#;

fn fixture() -> Fixture {
    let toml = format!(
        "[meta]\nlicense = \"MIT\"\nhomepage = \"https://example.org\"\nbuild_script = \"build.sh\"\n\n\
         [[package]]\nname = \"hello\"\narchitecture = \"{a}\"\ndescription = \"runtime\"\nfiles = [\"usr/bin/**\", \"usr/share/**\"]\n\n\
         [[package]]\nname = \"hello-dev\"\narchitecture = \"{a}\"\ndescription = \"headers\"\nfiles = [\"usr/include/**\"]\n\n\
         [[sign]]\npath = \"usr/bin/hello\"\nkey = \"tcb\"\n",
        a = std::env::consts::ARCH
    );
    let f = Fixture::new(&toml, SCRIPT);
    f.write_source("prog.c", "int main(void) { return 0; }\n");
    fs::write(f.path("tcb.key"), [3u8; 32]).unwrap();
    fs::write(f.path("pkg.key"), [5u8; 32]).unwrap();
    f
}

/// `build`'s standard flags turned into `stage`'s or `seal`'s.
fn split_args(f: &Fixture, sub: &str, extra: &[String]) -> Vec<String> {
    let mut args = f.build_args(&[]);
    args[0] = sub.into();
    let drop = if sub == "stage" { "--out" } else { "--source" };
    let at = args.iter().position(|a| a == drop).unwrap();
    args.drain(at..at + 2);
    args.extend(extra.iter().cloned());
    args
}

fn packages(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn stage_then_seal_is_byte_identical_to_build() {
    let f = fixture();
    let tcb = format!("tcb={}", f.path("tcb.key").display());
    let pkg = f.path("pkg.key").display().to_string();
    let o = f.build(&["--binary-sign-key", &tcb, "--sign-key", &pkg]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let staged = f.path("staged").display().to_string();
    let o = f.run(&split_args(
        &f,
        "stage",
        &["--staged".into(), staged.clone()],
    ));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(f.path("staged/usr/bin/hello").is_file());
    // Staging again into the same directory is refused.
    let o = f.run(&split_args(
        &f,
        "stage",
        &["--staged".into(), staged.clone()],
    ));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));

    let out2 = f.path("out2").display().to_string();
    let seal = |keys: bool| {
        let mut extra = vec![
            "--staged".into(),
            staged.clone(),
            "--out".into(),
            out2.clone(),
        ];
        if keys {
            extra.extend([
                "--binary-sign-key".into(),
                tcb.clone(),
                "--sign-key".into(),
                pkg.clone(),
            ]);
        }
        f.run(&split_args(&f, "seal", &extra))
    };
    // The keys are asked for where the signing happens.
    let o = seal(false);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("tcb"), "{}", stderr(&o));
    let o = seal(true);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let built = packages(&f.path("out"));
    assert_eq!(built.len(), 2);
    assert_eq!(built, packages(&f.path("out2")));
    // Sealing signed a private copy: the staged tree is as the node left it.
    let staged_bin = fs::read(f.path("staged/usr/bin/hello")).unwrap();
    assert!(!staged_bin.windows(9).any(|w| w == b".peios.si"));
    assert!(f.leftover_tmp().is_empty(), "{:?}", f.leftover_tmp());
}
