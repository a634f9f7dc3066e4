//! Game-invite notifications: the `notify.xboxlive.com` subscription and its `inviteHandle` events
//! (XSAPI `Source/Services/Notification/RTA/notification_subscription.cpp`), and joining from one.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use serde::Serialize;
use serde_json::Value;

use super::client::{RtaClient, Subscription};
use super::types::{RtaError, SubscriptionEvent};
use crate::client::MpsdClient;
use crate::delta::SessionDelta;
use crate::error::Error;
use crate::ids::{HandleId, Scid, TitleId, Xuid};
use crate::session_ref::{SessionName, SessionReference, SessionTemplateName};
use crate::write::{WriteMode, WriteOutcome};

/// The notification resource of `xuid`'s invites for `title` (decimal title id), as XSAPI subscribes it.
pub fn invite_uri(xuid: Xuid, title: TitleId) -> String {
    format!(
        "https://notify.xboxlive.com/users/xuid({xuid})/deviceId/current/titleId/{}",
        title.get()
    )
}

/// The sender's display data of an invite (`inviteInfo`; XSAPI rejects an invite without it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct InviteInfo {
    /// `sender`: the sender's gamertag.
    pub sender: String,
    /// `senderModernGamertag`.
    pub sender_modern_gamertag: String,
    /// `senderModernGamertagSuffix`.
    pub sender_modern_gamertag_suffix: String,
    /// `senderUniqueModernGamertag`.
    pub sender_unique_modern_gamertag: String,
    /// `senderImageUrl`.
    pub sender_image_url: String,
}

/// A game invite (an MPSD invite handle) as RTA delivers it, with the fields XSAPI requires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct InviteNotification {
    /// The invite handle's id: join through it with [`MpsdClient::join_from_invite`].
    pub handle_id: HandleId,
    /// The invited user.
    pub invited_xuid: Xuid,
    /// The user who sent the invite.
    pub sender_xuid: Xuid,
    /// `inviteProtocol`, e.g. `game`.
    pub invite_protocol: String,
    /// `inviteAttributes.context`, when sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// `expiration`, as sent (an RFC 3339 time).
    pub expiration: String,
    /// The session invited to, when the notification names it.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_reference"
    )]
    pub session: Option<SessionReference>,
    /// The sender's display data.
    pub invite_info: InviteInfo,
}

fn serialize_reference<S: serde::Serializer>(
    value: &Option<SessionReference>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(reference) => serializer.serialize_str(&reference.to_uri_path()),
        None => serializer.serialize_none(),
    }
}

/// Why a notification is not a usable invite.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid invite notification: {0}")]
pub struct InvalidInvite(String);

impl InviteNotification {
    /// Reads an event of the notification subscription: `Ok(None)` for payloads that are not MPSD game
    /// invites (multiplayer-activity invites, `KickNotification`, achievements), an error for an
    /// `inviteHandle` that lacks a field XSAPI requires.
    pub fn from_event(data: &Value) -> Result<Option<Self>, InvalidInvite> {
        let Some(invite) = data.get("inviteHandle") else {
            return Ok(None);
        };
        if data.get("service").and_then(Value::as_str) == Some("achievements") {
            return Ok(None);
        }
        let text = |value: &Value, key: &str| -> Result<String, InvalidInvite> {
            value
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| InvalidInvite(format!("{key} is missing or not a string")))
        };
        let parsed = |key: &str| -> Result<String, InvalidInvite> { text(invite, key) };
        let handle_id = parsed("id")?
            .parse::<HandleId>()
            .map_err(|e| InvalidInvite(format!("id: {e}")))?;
        let xuid = |key: &str| -> Result<Xuid, InvalidInvite> {
            parsed(key)?
                .parse::<Xuid>()
                .map_err(|e| InvalidInvite(format!("{key}: {e}")))
        };
        let info = invite
            .get("inviteInfo")
            .filter(|info| info.is_object())
            .ok_or_else(|| InvalidInvite("inviteInfo is missing".to_owned()))?;
        let session = invite.get("sessionRef").and_then(|r| {
            Some(SessionReference::new(
                Scid::new(r.get("scid")?.as_str()?).ok()?,
                SessionTemplateName::new(r.get("templateName")?.as_str()?).ok()?,
                SessionName::new(r.get("name")?.as_str()?).ok()?,
            ))
        });
        Ok(Some(Self {
            handle_id,
            invited_xuid: xuid("invitedXuid")?,
            sender_xuid: xuid("senderXuid")?,
            invite_protocol: parsed("inviteProtocol")?,
            context: invite
                .get("inviteAttributes")
                .and_then(|a| a.get("context"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            expiration: parsed("expiration")?,
            session,
            invite_info: InviteInfo {
                sender: text(info, "sender")?,
                sender_modern_gamertag: text(info, "senderModernGamertag")?,
                sender_modern_gamertag_suffix: text(info, "senderModernGamertagSuffix")?,
                sender_unique_modern_gamertag: text(info, "senderUniqueModernGamertag")?,
                sender_image_url: text(info, "senderImageUrl")?,
            },
        }))
    }
}

/// A user's game invites: a [`Stream`] of [`InviteNotification`]s (other notifications and malformed invites
/// are logged and skipped). Dropping it unsubscribes.
pub struct InviteStream {
    subscription: Subscription,
}

impl fmt::Debug for InviteStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InviteStream")
            .field("uri", &self.subscription.uri())
            .finish()
    }
}

impl Stream for InviteStream {
    type Item = InviteNotification;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match Pin::new(&mut self.subscription).poll_next(cx) {
                Poll::Ready(Some(SubscriptionEvent::Event(data))) => {
                    match InviteNotification::from_event(&data) {
                        Ok(Some(invite)) => return Poll::Ready(Some(invite)),
                        Ok(None) => {}
                        Err(error) => tracing::debug!(%error, "RTA: skipping a notification"),
                    }
                }
                Poll::Ready(Some(SubscriptionEvent::Ended(_))) | Poll::Ready(None) => {
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(_)) => {}
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl RtaClient {
    /// Subscribes to `xuid`'s game invites for `title` ([`invite_uri`]). The client's token must be that
    /// user's.
    pub fn invites(
        &self,
        xuid: Xuid,
        title: TitleId,
    ) -> impl Future<Output = Result<InviteStream, RtaError>> + Send + '_ {
        crate::sending::boxed(async move {
            let subscription = self.subscribe(invite_uri(xuid, title)).await?;
            Ok(InviteStream { subscription })
        })
    }
}

impl MpsdClient {
    /// Accepts an invite: `PUT /handles/{handle}/session` with [`SessionDelta::join`] for the invited user, in
    /// [`WriteMode::UpdateExisting`] — the same request as
    /// [`join_from_activation`](MpsdClient::join_from_activation). The client's token must be the invitee's.
    pub fn join_from_invite<'a>(
        &'a self,
        invite: &'a InviteNotification,
    ) -> impl Future<Output = Result<WriteOutcome, Error>> + Send + 'a {
        crate::sending::boxed(async move {
            self.write(
                invite.handle_id,
                SessionDelta::new().join(invite.invited_xuid),
            )
            .mode(WriteMode::UpdateExisting)
            .send()
            .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({"inviteHandle": {
            "id": "7a4d0a99-4e23-4eba-9894-5173cf123fb4", "invitedXuid": "2533274792693551",
            "senderXuid": "2814679796296491", "inviteProtocol": "game",
            "inviteAttributes": {"context": "ctx"}, "expiration": "2026-01-01T00:05:00Z",
            "sessionRef": {"scid": "MockScid", "templateName": "lobby", "name": "party"},
            "inviteInfo": {"sender": "G", "senderModernGamertag": "G", "senderModernGamertagSuffix": "",
                           "senderUniqueModernGamertag": "G", "senderImageUrl": "https://x"}}})
    }

    #[test]
    fn invites_parse_with_xsapis_required_fields() {
        let invite = InviteNotification::from_event(&sample()).unwrap().unwrap();
        assert_eq!(invite.invited_xuid.get(), 2533274792693551);
        assert_eq!(invite.context.as_deref(), Some("ctx"));
        assert_eq!(invite.session.unwrap().name.as_str(), "party");
        for key in [
            "id",
            "invitedXuid",
            "senderXuid",
            "inviteProtocol",
            "expiration",
            "inviteInfo",
        ] {
            let mut data = sample();
            data["inviteHandle"].as_object_mut().unwrap().remove(key);
            assert!(InviteNotification::from_event(&data).is_err(), "{key}");
        }
        let mut data = sample();
        data["inviteHandle"]["inviteInfo"]
            .as_object_mut()
            .unwrap()
            .remove("sender");
        assert!(InviteNotification::from_event(&data).is_err());
        assert_eq!(
            InviteNotification::from_event(&json!({"KickNotification": {}})),
            Ok(None)
        );
        assert_eq!(InviteNotification::from_event(&json!(null)), Ok(None));
    }

    #[test]
    fn invite_uris_use_the_decimal_title_id() {
        let uri = invite_uri(Xuid::new(5).unwrap(), TitleId::new(0x1234));
        assert_eq!(
            uri,
            "https://notify.xboxlive.com/users/xuid(5)/deviceId/current/titleId/4660"
        );
    }
}
