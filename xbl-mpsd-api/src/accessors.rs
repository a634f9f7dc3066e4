//! Typed reads of the generated documents: what callers read most, without `Option` chains through
//! [`Nullable`] and [`Lenient`] fields. Hand-written beside `generated.rs` (the same crate, so they can be
//! inherent methods).

use crate::types::HandleDocument;
use crate::{HandleId, Lenient, Nullable, SessionReference, Timestamp, TitleId, Xuid};

fn valid<T: Copy>(field: &Nullable<Lenient<T>>) -> Option<T> {
    field.as_ref().and_then(Lenient::value)
}

impl HandleDocument {
    /// The handle's id, when the service sent a valid one.
    ///
    /// ```
    /// let handle: xbl_mpsd_api::types::HandleDocument = serde_json::from_value(serde_json::json!({
    ///     "id": "6fb2d1a6-2c3b-4a8e-9d5f-0e1f2a3b4c5d", "type": "invite", "version": 1,
    ///     "ownerXuid": "2533274792693551", "invitedXuid": "2814679796296491",
    ///     "sessionRef": {"scid": "MockScid", "templateName": "lobby", "name": "s1"}
    /// }))?;
    /// assert_eq!(handle.id().map(|id| id.to_string()).as_deref(), Some("6fb2d1a6-2c3b-4a8e-9d5f-0e1f2a3b4c5d"));
    /// assert_eq!(handle.owner().map(|x| x.get()), Some(2533274792693551));
    /// assert_eq!(handle.invited().map(|x| x.get()), Some(2814679796296491));
    /// assert_eq!(handle.session_ref().map(|r| r.name.as_str()), Some("s1"));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn id(&self) -> Option<HandleId> {
        valid(&self.id)
    }

    /// Who created the handle (`ownerXuid`).
    pub fn owner(&self) -> Option<Xuid> {
        valid(&self.owner_xuid)
    }

    /// Who an invite handle invites (`invitedXuid`).
    pub fn invited(&self) -> Option<Xuid> {
        valid(&self.invited_xuid)
    }

    /// The session the handle points to (`sessionRef`).
    pub fn session_ref(&self) -> Option<&SessionReference> {
        self.session_ref.as_ref()
    }

    /// The title of the handle (`titleId`), else of an invite (`inviteAttributes.titleId`).
    pub fn title_id(&self) -> Option<TitleId> {
        valid(&self.title_id).or_else(|| {
            self.invite_attributes
                .as_ref()
                .and_then(|a| a.title_id.as_ref())
                .and_then(Lenient::value)
        })
    }

    /// When an invite handle expires (`expiration`).
    pub fn expiration(&self) -> Option<&Timestamp> {
        self.expiration.as_ref()
    }
}
