//! The `piaojue` command line. Each subcommand is a thin shell over a library module;
//! exit codes are an interface: 0 done, 1 the input breaks the rules, 2 usage or I/O error.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::rules::{MAX_TALLY_INPUT_BYTES, TallyInput};

#[derive(Debug, Parser)]
#[command(
    name = "piaojue",
    version,
    about = "票决: a voting appliance for people's congress sessions, with verifiable results"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decide an outcome from counts alone under a rules document (see docs/rules.md).
    ///
    /// Reads `{ "rules": {…}, "items": […], "roll": {…}, "counts": [[…]] }` and prints the
    /// outcome as JSON. Exit 0 on valid input whatever the outcome, 1 on input that breaks
    /// the rules, 2 on usage or I/O errors.
    Tally {
        /// The tally input file, or `-` for standard input.
        file: PathBuf,
        /// Print only the announcement text, not the JSON outcome.
        #[arg(long)]
        text: bool,
    },
}

/// Runs the command line; `main` returns what this returns.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Tally { file, text } => tally(&file, text),
    }
}

const EXIT_INVALID: u8 = 1;
const EXIT_USAGE: u8 = 2;

fn tally(file: &Path, text_only: bool) -> ExitCode {
    let bytes = match read_capped(file, MAX_TALLY_INPUT_BYTES) {
        Ok(bytes) => bytes,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let input = match TallyInput::parse(&bytes) {
        Ok(input) => input,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_INVALID);
        }
    };
    let report = input.decide();
    for warning in &report.outcome.warnings {
        eprintln!("warning: {warning}");
    }
    let out = if text_only {
        format!("{}\n", report.outcome.announcement)
    } else {
        match serde_json::to_string_pretty(&report) {
            Ok(json) => format!("{json}\n"),
            Err(e) => {
                eprintln!("error: cannot print the outcome: {e}");
                return ExitCode::from(EXIT_USAGE);
            }
        }
    };
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write the outcome: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// Reads a file (or stdin for `-`), at most `max + 1` bytes so a huge input costs nothing;
/// the parser then refuses anything over `max` with a clear message.
fn read_capped(path: &Path, max: usize) -> Result<Vec<u8>, String> {
    let limit = (max as u64) + 1;
    let mut bytes = Vec::new();
    let result = if path == Path::new("-") {
        std::io::stdin().lock().take(limit).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(limit).read_to_end(&mut bytes))
    };
    result.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(bytes)
}
