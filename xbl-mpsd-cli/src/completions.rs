//! `xbl-mpsd completions SHELL` and `xbl-mpsd man`: shell completions (`clap_complete`) and a roff man
//! page (`clap_mangen`) of the whole command tree, on stdout.

use clap::{Args, Command};
use clap_complete::Shell;

use crate::error::CliError;

/// `xbl-mpsd completions …`
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell, e.g. `xbl-mpsd completions bash > /etc/bash_completion.d/xbl-mpsd`
    shell: Shell,
}

/// Writes the completion script of `command` (the whole command tree) for the shell on stdout.
pub fn completions(args: &CompletionsArgs, mut command: Command) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut command, "xbl-mpsd", &mut out);
    Ok(())
}

/// Writes the man page (roff) of `command` (the whole command tree) on stdout:
/// `xbl-mpsd man > xbl-mpsd.1; man ./xbl-mpsd.1`.
pub fn man(command: Command) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    clap_mangen::Man::new(command)
        .render(&mut out)
        .map_err(|e| CliError::Failed(format!("cannot write the man page: {e}")))
}
