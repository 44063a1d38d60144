//! `peipkg-node`: the build node's side of a cluster job. A Slurm batch
//! job runs `peipkg-node run DIR`; it clones the tag, runs `peipkg-build
//! stage` and leaves the staged tree and `result.json` in DIR (see
//! `peipkg_manager::cluster`). It never reads a key.
//!
//! Exit codes: 0 the build staged; 1 it failed (the reason is in
//! DIR/result.json and DIR/node.log); 2 a command line not understood.
#![forbid(unsafe_code)]

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.as_slice() {
        [run, dir] if run == "run" => {
            match peipkg_manager::cluster::node::run_job(std::path::Path::new(dir)) {
                Ok(true) => 0,
                Ok(false) => 1,
                Err(e) => {
                    eprintln!("peipkg-node: {e}");
                    1
                }
            }
        }
        [h] if h == "-h" || h == "--help" || h == "help" => {
            println!("usage: peipkg-node run JOB_DIR\n\nRun one build job (fetch + peipkg-build stage) of a peipkg farm on a cluster node.");
            0
        }
        _ => {
            eprintln!("usage: peipkg-node run JOB_DIR");
            2
        }
    };
    std::process::exit(code);
}
