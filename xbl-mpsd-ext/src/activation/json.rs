//! The flat JSON form of an [`Activation`] (its `Serialize`).

use serde::{Serialize, Serializer};

use super::{Activation, ActivationKind, NonEmptyString};
use crate::ids::{HandleId, TitleId, Xuid};

/// The flat JSON shape of an [`Activation`].
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FlatActivation<'a> {
    kind: &'static str,
    handle_id: Option<HandleId>,
    invited_xuid: Option<Xuid>,
    sender_xuid: Option<Xuid>,
    joiner_xuid: Option<Xuid>,
    joinee_xuid: Option<Xuid>,
    context: Option<&'a NonEmptyString>,
    connection_string: Option<&'a NonEmptyString>,
    title_id: Option<u32>,
}

impl Serialize for Activation {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut flat = FlatActivation {
            kind: self.kind.action(),
            handle_id: self.handle(),
            invited_xuid: None,
            sender_xuid: None,
            joiner_xuid: None,
            joinee_xuid: None,
            context: None,
            connection_string: None,
            title_id: self.title_id.map(TitleId::get),
        };
        match &self.kind {
            ActivationKind::InviteHandleAccept {
                invited,
                sender,
                context,
                ..
            } => {
                flat.invited_xuid = Some(*invited);
                flat.sender_xuid = *sender;
                flat.context = context.as_ref();
            }
            ActivationKind::ActivityHandleJoin { joiner, joinee, .. } => {
                flat.joiner_xuid = Some(*joiner);
                flat.joinee_xuid = *joinee;
            }
            ActivationKind::InviteAccept {
                invited_user,
                sender,
                connection_string,
            } => {
                flat.invited_xuid = Some(*invited_user);
                flat.sender_xuid = *sender;
                flat.connection_string = Some(connection_string);
            }
        }
        flat.serialize(serializer)
    }
}
