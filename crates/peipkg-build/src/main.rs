//! `peipkg-build`: see the library crate for everything it does.

fn main() {
    std::process::exit(peipkg_build::cli::run(std::env::args_os()));
}
