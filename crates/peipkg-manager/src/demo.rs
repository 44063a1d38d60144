//! `peipkg-manager demo`: placeholder until the demo lands.
pub fn cmd_demo(_args: &[String]) -> i32 {
    eprintln!("peipkg-manager demo: not yet available");
    1
}
