//! The `peipkg-repo` binary: everything lives in the library.
#![forbid(unsafe_code)]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(peipkg_repo::cli::run(&args));
}
