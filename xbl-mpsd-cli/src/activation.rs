//! `xbl-mpsd activation parse <URI>`: the SDK's activation-URI parser on the command line.

use clap::Subcommand;
use xbl_mpsd_ext::Activation;

use crate::error::CliError;
use crate::output;

/// `xbl-mpsd activation …`
#[derive(Debug, Subcommand)]
pub enum ActivationCommand {
    /// Parse an invite or join activation URI; print it as one JSON object (camelCase keys, and `uri`)
    Parse {
        /// E.g. ms-xbl-multiplayer://inviteHandleAccept?handle=…&invitedXuid=…&senderXuid=…
        uri: String,
    },
}

/// Runs an `activation` command. A URI that does not parse is a usage error: nothing on stdout, one
/// line on stderr.
pub fn run(command: &ActivationCommand) -> Result<(), CliError> {
    match command {
        ActivationCommand::Parse { uri } => {
            let activation: Activation = uri
                .parse()
                .map_err(|e| CliError::Usage(format!("invalid activation URI: {e}")))?;
            let mut value = serde_json::to_value(&activation)
                .map_err(|e| CliError::Failed(format!("cannot encode the activation: {e}")))?;
            // The canonical URI too, so `jq -r .uri` feeds `xbl-mpsd join`.
            if let Some(object) = value.as_object_mut() {
                object.insert("uri".to_owned(), activation.to_uri().into());
            }
            let json = value.to_string();
            output::stdout_line(&json);
            Ok(())
        }
    }
}
