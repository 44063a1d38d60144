//! The `peipkg-manager` binary: everything lives in the library.
fn main() {
    std::process::exit(peipkg_manager::cli::main_with(std::env::args_os()));
}
