//! The `peipkg-repo` binary: everything lives in the library.
fn main() {
    std::process::exit(peipkg_repo::cli::run(std::env::args_os()));
}
