//! The futures the SDK's `send` methods return.
//!
//! An `async fn` body is instantiated in the crate that polls it, like a generic function: a consumer awaiting
//! `write(..).send()` compiled the whole write (the retry loop, the request builders, the session decoder and
//! every serde instantiation under them) into its own crate on every rebuild. A public `send` instead boxes
//! its body here, in a function this crate compiles, and the consumer polls a `Box<dyn Future>`: one
//! allocation per call against ~1,500 fewer items in each consumer build (BENCHMARKS.md, P7').
//!
//! A public method that takes an `impl Into<…>` converts its argument, then calls a private non-generic
//! method that boxes (`RtaClient::subscribe`, `SessionSubscriptions::watch`): an `async` block inside a generic
//! function is generic too. Still `async fn`, on purpose: the methods that take the caller's closures
//! (`synchronized_update(..).send()`, `operation(..).send()`, `XboxSignIn::sign_in`, `RetryPolicy::run`), which
//! are compiled in the caller's crate whatever their shape, and the event waits (`next_event`), a channel
//! receive each.

// The one boxing function, shared with the generated operations (`xbl-mpsd-api/src/sending.rs`): it is generic,
// so each body is compiled in the crate whose body it is — this one for the SDK's `send` methods.
/// The type a boxed `send` future has where a signature must name it (the RTA client's `subscribe` and `watch`).
#[cfg(feature = "rta")]
pub(crate) use xbl_mpsd_api::sending::Sending;
pub(crate) use xbl_mpsd_api::sending::boxed;

#[cfg(test)]
mod tests {
    use std::mem::size_of_val;

    use crate::{
        HandleId, MpsdClient, Scid, SessionDelta, SessionReference, SessionTemplateName, TitleId,
        XblToken, Xuid,
    };

    /// A boxed future is two words (data and vtable); an `async fn`'s own future is the size of its state
    /// machine, hundreds of bytes for any of these. Fails when a `send` goes back to being an `async fn`.
    #[test]
    fn every_send_future_is_boxed_in_this_crate() {
        let client = MpsdClient::builder()
            .base_url("http://127.0.0.1:9")
            .token(XblToken::new("-", "2533274792690000").expect("token"))
            .build()
            .expect("client");
        let session: SessionReference = "/serviceconfigs/scid/sessionTemplates/lobby/sessions/one"
            .parse()
            .expect("reference");
        let handle: HandleId = "3c2c4c8f-6bd4-4a4b-b8d8-2a0f1a6c0c51"
            .parse()
            .expect("handle");
        let scid = Scid::new("scid").expect("scid");
        let template = SessionTemplateName::new("lobby").expect("template");
        let xuid: Xuid = "2533274792690000".parse().expect("xuid");
        let etag = "\"1\"".parse().expect("etag");
        let boxed = 2 * size_of::<usize>();
        let sizes = [
            (
                "write",
                size_of_val(&client.write(&session, SessionDelta::new()).send()),
            ),
            (
                "get_session",
                size_of_val(&client.get_session(&session).send()),
            ),
            (
                "if_none_match",
                size_of_val(&client.get_session(&session).if_none_match(&etag).send()),
            ),
            (
                "query_sessions",
                size_of_val(&client.query_sessions(scid.clone()).xuid(xuid).send()),
            ),
            (
                "create_handle",
                size_of_val(
                    &client
                        .create_handle(crate::handles::activity_request(&session))
                        .send(),
                ),
            ),
            (
                "send_invites",
                size_of_val(
                    &client
                        .send_invites(&session, [xuid], TitleId::new(1), None)
                        .send(),
                ),
            ),
            ("get_handle", size_of_val(&client.get_handle(handle).send())),
            (
                "delete_handle",
                size_of_val(&client.delete_handle(handle).send()),
            ),
            (
                "query_handles",
                size_of_val(
                    &client
                        .query_handles(crate::handles::activities_query(&scid, &[xuid]))
                        .send(),
                ),
            ),
            (
                "clear_activity",
                size_of_val(&client.clear_activity(scid.clone(), xuid).send()),
            ),
            (
                "session_template",
                size_of_val(&client.session_template(&scid, &template).send()),
            ),
            (
                "session_templates",
                size_of_val(&client.session_templates(&scid).send()),
            ),
        ];
        for (name, size) in sizes {
            assert_eq!(
                size, boxed,
                "{name}'s send future is {size} bytes: not boxed"
            );
        }
    }
}
