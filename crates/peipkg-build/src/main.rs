//! `peipkg-build`: see the library crate for everything it does.
#![forbid(unsafe_code)]

fn main() {
    std::process::exit(peipkg_build::cli::run(std::env::args_os()));
}
