//! `xbl-mpsd activation parse <URI>`: the SDK's activation-URI parser on the command line.

use clap::Subcommand;
use serde_json::{Value, json};
use xbl_mpsd_ext::{Activation, ActivationKind, HandleId, Xuid};

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
            let mut value = flat_json(&activation);
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

/// The activation as one flat JSON object: `kind` (the action), `handleId`, `invitedXuid`, `senderXuid`,
/// `joinerXuid`, `joineeXuid`, `context`, `connectionString`, `titleId` (`null` where the kind has none).
fn flat_json(activation: &Activation) -> Value {
    let xuid = |x: Option<Xuid>| x.map(|x| x.to_string());
    let handle = |h: Option<HandleId>| h.map(|h| h.to_string());
    let mut flat = json!({
        "kind": activation.kind.action(),
        "handleId": handle(activation.handle()),
        "invitedXuid": null,
        "senderXuid": null,
        "joinerXuid": null,
        "joineeXuid": null,
        "context": null,
        "connectionString": null,
        "titleId": activation.title_id.map(|t| t.get()),
    });
    match &activation.kind {
        ActivationKind::InviteHandleAccept {
            invited,
            sender,
            context,
            ..
        } => {
            flat["invitedXuid"] = json!(xuid(Some(*invited)));
            flat["senderXuid"] = json!(xuid(*sender));
            flat["context"] = json!(context.as_ref().map(|c| c.as_str()));
        }
        ActivationKind::ActivityHandleJoin { joiner, joinee, .. } => {
            flat["joinerXuid"] = json!(xuid(Some(*joiner)));
            flat["joineeXuid"] = json!(xuid(*joinee));
        }
        ActivationKind::InviteAccept {
            invited_user,
            sender,
            connection_string,
        } => {
            flat["invitedXuid"] = json!(xuid(Some(*invited_user)));
            flat["senderXuid"] = json!(xuid(*sender));
            flat["connectionString"] = json!(connection_string.as_str());
        }
        // A kind this CLI does not know yet: its action and handle only.
        _ => {}
    }
    flat
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flat_form_has_every_key_of_every_kind() {
        let invite: Activation = "ms-xbl-multiplayer://inviteHandleAccept?handle=6fb2d1a6-2c3b-4a8e-9d5f-0e1f2a3b4c5d&invitedXuid=1234567890123456&senderXuid=5&context=ctx"
            .parse()
            .unwrap();
        assert_eq!(
            flat_json(&invite),
            json!({
                "kind": "inviteHandleAccept", "handleId": "6fb2d1a6-2c3b-4a8e-9d5f-0e1f2a3b4c5d",
                "invitedXuid": "1234567890123456", "senderXuid": "5", "joinerXuid": null,
                "joineeXuid": null, "context": "ctx", "connectionString": null, "titleId": null,
            })
        );
        let join: Activation = "ms-xbl-7A970EA1://activityHandleJoin?handle=6fb2d1a6-2c3b-4a8e-9d5f-0e1f2a3b4c5d&joinerXuid=11&joineeXuid=12"
            .parse()
            .unwrap();
        assert_eq!(
            flat_json(&join),
            json!({
                "kind": "activityHandleJoin", "handleId": "6fb2d1a6-2c3b-4a8e-9d5f-0e1f2a3b4c5d",
                "invitedXuid": null, "senderXuid": null, "joinerXuid": "11", "joineeXuid": "12",
                "context": null, "connectionString": null, "titleId": 2056720033u32,
            })
        );
    }
}
