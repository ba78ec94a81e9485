//! The `oxrtc` command; see the `oxrtc_cli` library docs and `oxrtc --help`.

use clap::Parser;

fn main() {
    let cli = oxrtc_cli::Cli::parse();
    std::process::exit(oxrtc_cli::run(cli));
}
