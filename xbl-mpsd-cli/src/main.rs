//! The `xbl-mpsd` command.

#[rustfmt::skip]
#[allow(
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used,
    clippy::expect_used,
    unused,
    missing_docs
)]
mod generated_cli;

fn main() {
    for cmd in generated_cli::CliCommand::iter() {
        println!("{}", cmd.operation_id());
    }
}
