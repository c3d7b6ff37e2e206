use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = preflight::cli::Cli::parse();
    match preflight::run(cli) {
        Ok(outcome) => outcome.exit_code(),
        Err(err) => {
            if !err.is_broken_pipe() {
                eprintln!("preflight: {err}");
            }
            err.exit_code().into()
        }
    }
}
