//! `peipkg-node`: the build node's side of a cluster job. A Slurm batch
//! job runs `peipkg-node run DIR`; it clones the tag, runs `peipkg-build
//! stage` and leaves the staged tree and `result.json` in DIR (see
//! `peipkg_manager::cluster`). It never reads a key.
//!
//! Exit codes: 0 the build staged; 1 it failed (the reason is in
//! DIR/result.json and DIR/node.log); 2 a command line not understood.

use peipkg_cli::{CliError, FlagSet, Program, EXIT_FAILURE, EXIT_OK};

fn run_flags() -> FlagSet {
    let mut f = FlagSet::new("peipkg-node run", "JOB_DIR");
    f.about("Run one build job (fetch + peipkg-build stage) of a peipkg farm on a cluster node.");
    f.args("JOB_DIR", 1, 1);
    f
}

fn main() {
    let mut program = Program::new("peipkg-node");
    program.command(
        "run",
        "run one build job of a peipkg farm on a cluster node",
        run_flags,
        |m| {
            let dir = std::path::Path::new(&m.positionals()[0]);
            match peipkg_manager::cluster::node::run_job(dir) {
                Ok(true) => Ok(EXIT_OK),
                Ok(false) => Err(CliError::Exit(EXIT_FAILURE)),
                Err(e) => Err(CliError::Failure(e.to_string())),
            }
        },
    );
    std::process::exit(program.run(std::env::args_os()));
}
