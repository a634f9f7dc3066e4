//! `customize`: a caller's change to the generated request builder a typed helper sends, so a parameter added
//! to the spec reaches the helpers the day it is generated, before they know it.
//!
//! Every prepared call of this crate that sends one generated request ([`MpsdClient::write`],
//! [`MpsdClient::get_session`],
//! [`MpsdClient::query_sessions`], [`MpsdClient::get_handle`], [`MpsdClient::delete_handle`],
//! [`MpsdClient::create_handle`], [`MpsdClient::query_handles`]) has a `customize` method. Its closure gets the
//! generated builder (a type of [`crate::api::builder`]) after the helper has set everything it knows, and
//! returns it with more set. The closure's parameter type says which operation it is for: a helper that
//! sends one of several operations (a session write or read by reference or by handle; the four session queries)
//! applies each closure to the builder it names, and fails with [`Error::InvalidRequest`] before sending
//! when none of the closures names the one it sends. The closure runs again for each retry.
//!
//! ```
//! use xbl_mpsd_ext::{MpsdClient, XblToken, api::builder};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let emulator = xbl_mpsd_emulator::Emulator::start(Default::default()).await?;
//! let client = MpsdClient::builder()
//! #   .base_url(emulator.base_url())
//!     .token(XblToken::new("-", "2533274792693551")?)
//!     .build()?;
//! // A query parameter the helper has no method for: set it on the generated builder.
//! let found = client
//!     .query_sessions("00000000-0000-0000-0000-000000000001".parse()?)
//!     .keyword("ctf")
//!     .customize(|request: builder::QuerySessions<'_>| request.accept_language("en-US"))
//!     .send()
//!     .await?;
//! assert!(found.is_empty());
//! # Ok(()) }
//! ```
//!
//! [`MpsdClient::write`]: crate::MpsdClient::write
//! [`MpsdClient::get_session`]: crate::MpsdClient::get_session
//! [`MpsdClient::query_sessions`]: crate::MpsdClient::query_sessions
//! [`MpsdClient::get_handle`]: crate::MpsdClient::get_handle
//! [`MpsdClient::delete_handle`]: crate::MpsdClient::delete_handle
//! [`MpsdClient::create_handle`]: crate::MpsdClient::create_handle
//! [`MpsdClient::query_handles`]: crate::MpsdClient::query_handles

use std::fmt;
use std::sync::Arc;

use xbl_mpsd_api::{Operation, builder};

use crate::error::Error;

/// A generated request builder that a helper's `customize` can name. Implemented for the builders the
/// helpers send; sealed.
pub trait Customizable<'c>: Operation + sealed::Sealed<'c> {}

mod sealed {
    /// The builders as one type, so a closure typed on one of them can be kept beside the others.
    #[allow(missing_debug_implementations)]
    pub enum AnyBuilder<'c> {
        WriteSession(xbl_mpsd_api::builder::WriteSession<'c>),
        WriteSessionByHandle(xbl_mpsd_api::builder::WriteSessionByHandle<'c>),
        GetSession(xbl_mpsd_api::builder::GetSession<'c>),
        GetSessionByHandle(xbl_mpsd_api::builder::GetSessionByHandle<'c>),
        QuerySessions(xbl_mpsd_api::builder::QuerySessions<'c>),
        QueryTemplateSessions(xbl_mpsd_api::builder::QueryTemplateSessions<'c>),
        QuerySessionsBatch(xbl_mpsd_api::builder::QuerySessionsBatch<'c>),
        QueryTemplateSessionsBatch(xbl_mpsd_api::builder::QueryTemplateSessionsBatch<'c>),
        GetHandle(xbl_mpsd_api::builder::GetHandle<'c>),
        DeleteHandle(xbl_mpsd_api::builder::DeleteHandle<'c>),
        CreateHandle(xbl_mpsd_api::builder::CreateHandle<'c>),
        QueryHandles(xbl_mpsd_api::builder::QueryHandles<'c>),
    }

    pub trait Sealed<'c>: Sized {
        fn into_any(self) -> AnyBuilder<'c>;
        /// The builder back, or `any` unchanged when it is another one (moved, never copied).
        #[allow(clippy::result_large_err)]
        fn from_any(any: AnyBuilder<'c>) -> Result<Self, AnyBuilder<'c>>;
    }
}

use sealed::AnyBuilder;

macro_rules! customizable {
    ($($name:ident),* $(,)?) => {$(
        impl<'c> sealed::Sealed<'c> for builder::$name<'c> {
            fn into_any(self) -> AnyBuilder<'c> {
                AnyBuilder::$name(self)
            }
            #[allow(clippy::result_large_err)]
            fn from_any(any: AnyBuilder<'c>) -> Result<Self, AnyBuilder<'c>> {
                match any {
                    AnyBuilder::$name(builder) => Ok(builder),
                    other => Err(other),
                }
            }
        }
        impl<'c> Customizable<'c> for builder::$name<'c> {}
    )*};
}

customizable!(
    WriteSession,
    WriteSessionByHandle,
    GetSession,
    GetSessionByHandle,
    QuerySessions,
    QueryTemplateSessions,
    QuerySessionsBatch,
    QueryTemplateSessionsBatch,
    GetHandle,
    DeleteHandle,
    CreateHandle,
    QueryHandles,
);

/// One closure: the operationId it is for, and the closure taking and giving back that builder.
type Step<'c> = Arc<dyn Fn(AnyBuilder<'c>) -> AnyBuilder<'c> + Send + Sync + 'c>;

/// The `customize` closures of one prepared call, in the order given.
#[derive(Clone, Default)]
pub(crate) struct Customizations<'c> {
    steps: Vec<(&'static str, Step<'c>)>,
}

impl fmt::Debug for Customizations<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.steps.iter().map(|(id, _)| id))
            .finish()
    }
}

impl<'c> Customizations<'c> {
    /// Adds `change` for the builder type `B`.
    pub(crate) fn push<B, F>(&mut self, change: F)
    where
        B: Customizable<'c>,
        F: Fn(B) -> B + Send + Sync + 'c,
    {
        // `apply` only calls a step with its own builder type; another one would pass through unchanged.
        let step: Step<'c> = Arc::new(move |any| match B::from_any(any) {
            Ok(builder) => change(builder).into_any(),
            Err(other) => other,
        });
        self.steps.push((B::OPERATION_ID, step));
    }

    /// Whether a closure names operation `B` or none was given: what `apply` checks before sending.
    pub(crate) fn check<B: Customizable<'c>>(&self) -> Result<(), Error> {
        if self.steps.is_empty() || self.steps.iter().any(|(id, _)| *id == B::OPERATION_ID) {
            return Ok(());
        }
        let named: Vec<&str> = self.steps.iter().map(|(id, _)| *id).collect();
        Err(Error::InvalidRequest(format!(
            "customize was given a closure for {named:?}, but this call sends `{}`: type the closure's \
             parameter as that operation's builder (`api::builder::…`)",
            B::OPERATION_ID
        )))
    }

    /// `request` with every closure for its operation applied, in order; an error when closures were
    /// given and none is for this operation.
    pub(crate) fn apply<B: Customizable<'c>>(&self, request: B) -> Result<B, Error> {
        self.check::<B>()?;
        let mut any = request.into_any();
        for (id, step) in &self.steps {
            if *id == B::OPERATION_ID {
                any = step(any);
            }
        }
        B::from_any(any).map_err(|_| {
            Error::InvalidRequest("a customize closure changed the operation".to_owned())
        })
    }
}

/// The `customize` method of a helper that sends one generated builder, `api::builder::$builder`; the
/// helper has a `customizations: Customizations<'c>` field and an `impl<'c>` block.
macro_rules! customize_one {
    ($builder:ident) => {
        #[doc = concat!(
            "Changes the generated request (`api::builder::", stringify!($builder),
            "`) before it is sent, e.g. to set a parameter this builder has no method for yet: `change` ",
            "gets it with everything this builder sets and returns it with more set. Runs again for each ",
            "retry; see [`customize`](crate::customize)."
        )]
        pub fn customize<F>(mut self, change: F) -> Self
        where
            F: Fn(xbl_mpsd_api::builder::$builder<'c>) -> xbl_mpsd_api::builder::$builder<'c>
                + Send
                + Sync
                + 'c,
        {
            self.customizations.push(change);
            self
        }
    };
}

pub(crate) use customize_one;

/// The `customize` method of a helper that sends one of several generated builders (the caller types the
/// closure's parameter); its doc, which names those builders, is given as the macro's attributes.
macro_rules! customize_any {
    ($(#[$doc:meta])*) => {
        $(#[$doc])*
        pub fn customize<B, F>(mut self, change: F) -> Self
        where
            B: $crate::customize::Customizable<'c>,
            F: Fn(B) -> B + Send + Sync + 'c,
        {
            self.customizations.push(change);
            self
        }
    };
}

pub(crate) use customize_any;
