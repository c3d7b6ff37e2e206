use std::process::ExitCode;

use clap::Parser;
use preflight::interrupt;

fn main() -> ExitCode {
    // every temporary file of the run goes when this is dropped, also while a panic unwinds
    let run = interrupt::RunGuard::start();
    if let Err(e) = interrupt::install() {
        preflight::warn(&format!("Ctrl-C will stop preflight at once ({e})"));
    }
    // what runs killed outright left in the temporary directory
    interrupt::sweep(&std::env::temp_dir());
    let cli = preflight::cli::Cli::parse();
    let result = preflight::run(cli);
    let code = match (result, interrupt::signal()) {
        (Ok(outcome), _) => outcome.exit_code(),
        (Err(_), Some(sig)) => {
            interrupt::cleanup();
            eprintln!("{}", interrupt::message(sig));
            interrupt::exit_code(sig).into()
        }
        (Err(err), None) => {
            if !err.is_broken_pipe() {
                eprintln!("preflight: {}", err.one_line());
            }
            err.exit_code().into()
        }
    };
    drop(run);
    code
}
