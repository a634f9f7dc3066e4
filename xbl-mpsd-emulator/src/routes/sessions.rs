//! Session operations over HTTP: reading and writing a session, by its path or through a handle.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::header::{IF_MATCH, IF_NONE_MATCH};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{ApiError, ApiResult};
use crate::handles::Handle;
use crate::model::SessionRef;
use crate::response;
use crate::session::write::WriteContext;
use crate::store::{Preconditions, WriteReply, WriteRequest, Writer, etag_listed};

use super::{AppState, HandleId};
use crate::query_string::QueryPairs;

/// The six captured segments of a session path.
type SessionPath = (String, String, String, String, String, String);

/// The six segments of a session path; a segment that is not UTF-8 once percent-decoded is a 400 with a text
/// body (axum's own rejection would be answered without the emulator's headers).
#[derive(Debug, Clone)]
pub(super) struct SessionSegments(SessionPath);

impl<S: Send + Sync> FromRequestParts<S> for SessionSegments {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<SessionPath>::from_request_parts(parts, state)
            .await
            .map(|Path(path)| Self(path))
            .map_err(|rejection| {
                ApiError::bad_request(format!(
                    "The session path is invalid: {}",
                    rejection.body_text()
                ))
            })
    }
}

/// Checks the literal segments of a session path and returns the reference it names.
fn session_ref(path: SessionPath) -> ApiResult<SessionRef> {
    let (serviceconfigs, scid, session_templates, template, sessions, name) = path;
    let literal_ok = serviceconfigs.eq_ignore_ascii_case("serviceconfigs")
        && session_templates.eq_ignore_ascii_case("sessiontemplates")
        && sessions.eq_ignore_ascii_case("sessions");
    if !literal_ok {
        return Err(ApiError::not_found(format!(
            "No MPSD resource at /{serviceconfigs}/{scid}/{session_templates}/{template}/{sessions}/{name}"
        )));
    }
    SessionRef::new(&scid, &template, &name, "session path")
}

/// The text of a header, if present and valid.
fn header(headers: &HeaderMap, name: axum::http::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// The `nocommit` query parameter: a strict boolean.
///
/// `true` and `false` are accepted in any ASCII case (the spec's `type: boolean` serialises as `true`/`false`;
/// the case is ignored as MPSD, an ASP.NET service, parses booleans). Anything else — `1`, `yes`, a typo such
/// as `ture`, an empty value, or the parameter given twice — is a 400, so a typo can never turn a dry run into
/// a committed write. Absent means `false`.
fn nocommit(query: &[(String, String)]) -> ApiResult<bool> {
    let mut values = query.iter().filter(|(name, _)| name == "nocommit");
    let value = match (values.next(), values.next()) {
        (None, _) => return Ok(false),
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "nocommit is given more than once; give it once, as true or false",
            ));
        }
        (Some((_, value)), None) => value,
    };
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(ApiError::bad_request(format!(
            "nocommit must be true or false, not '{value}'"
        )))
    }
}

/// The session a request addresses, and how.
#[derive(Debug, Clone, Copy)]
struct Target<'a> {
    /// The session reference (from the path or the handle).
    reference: &'a SessionRef,
    /// Whether the caller holds an invite or transfer grant for it.
    granted: bool,
    /// Whether the request came through `/handles/{id}/session`.
    by_handle: bool,
}

impl<'a> Target<'a> {
    /// A session addressed by its path; invitees named by an invite handle hold a grant.
    fn by_reference(state: &AppState, reference: &'a SessionRef, caller: Caller) -> Self {
        let granted = state.store.invited(reference, caller.xuid);
        Self {
            reference,
            granted,
            by_handle: false,
        }
    }

    /// A session addressed through `handle`.
    fn by_handle(state: &AppState, handle: &'a Handle, caller: Caller) -> Self {
        let granted = state.store.grants(handle, caller.xuid);
        Self {
            reference: &handle.session,
            granted,
            by_handle: true,
        }
    }
}

/// Shared by both session reads: 204 when missing, 304 when `If-None-Match` names the current ETag, else 200.
fn read_session(
    state: &AppState,
    target: Target<'_>,
    caller: Caller,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let reference = target.reference;
    state
        .store
        .templates()
        .template_for(reference.scid(), reference.template_name())?;
    let Some(view) = state.store.read(
        target.reference,
        caller.xuid,
        target.granted,
        caller.contract_version,
    )?
    else {
        return Ok(response::empty(StatusCode::NO_CONTENT));
    };
    if header(headers, IF_NONE_MATCH).is_some_and(|value| etag_listed(&value, &view.etag)) {
        return Ok(response::not_modified(&view.etag, &view.location));
    }
    Ok(response::session(StatusCode::OK, view))
}

/// Shared by both session writes.
fn write_session(
    state: &AppState,
    target: Target<'_>,
    caller: Caller,
    headers: &HeaderMap,
    query: &[(String, String)],
    body: &JsonObject,
) -> ApiResult<Response> {
    let nocommit = nocommit(query)?;
    let reference = target.reference;
    let template = state
        .store
        .templates()
        .template_for(reference.scid(), reference.template_name())?;
    let request = WriteRequest {
        body: &body.0,
        nocommit,
        template,
        preconditions: Preconditions {
            if_match: header(headers, IF_MATCH),
            if_none_match: header(headers, IF_NONE_MATCH),
        },
        by_handle: target.by_handle,
        contract_version: caller.contract_version,
        writer: Writer::Caller(caller.xuid),
        ctx: WriteContext {
            caller: caller.xuid,
            now: state.store.now(),
            title_id: state.config.title_id,
            granted: target.granted,
        },
    };
    Ok(match state.store.write(target.reference, request)? {
        WriteReply::Written { created, view } => {
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            response::session(status, *view)
        }
        WriteReply::Deleted => response::empty(StatusCode::NO_CONTENT),
    })
}

/// The request's headers, moved out of it: axum's `HeaderMap` extractor copies the map for every request.
/// Comes after every extractor that reads a header (`Caller`); the body extractor after it reads none.
pub(super) struct TakenHeaders(HeaderMap);

impl<S: Send + Sync> FromRequestParts<S> for TakenHeaders {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(std::mem::take(&mut parts.headers)))
    }
}

/// `GET /serviceconfigs/{scid}/sessionTemplates/{template}/sessions/{name}`.
pub(super) async fn get_session(
    State(state): State<AppState>,
    caller: Caller,
    SessionSegments(path): SessionSegments,
    TakenHeaders(headers): TakenHeaders,
) -> ApiResult<Response> {
    let reference = session_ref(path)?;
    let target = Target::by_reference(&state, &reference, caller);
    read_session(&state, target, caller, &headers)
}

/// `PUT /serviceconfigs/{scid}/sessionTemplates/{template}/sessions/{name}`.
pub(super) async fn put_session(
    State(state): State<AppState>,
    caller: Caller,
    SessionSegments(path): SessionSegments,
    QueryPairs(query): QueryPairs,
    TakenHeaders(headers): TakenHeaders,
    body: JsonObject,
) -> ApiResult<Response> {
    let reference = session_ref(path)?;
    let target = Target::by_reference(&state, &reference, caller);
    write_session(&state, target, caller, &headers, &query, &body)
}

/// `GET /handles/{handleId}/session`.
pub(super) async fn get_session_by_handle(
    State(state): State<AppState>,
    caller: Caller,
    HandleId(id): HandleId,
    TakenHeaders(headers): TakenHeaders,
) -> ApiResult<Response> {
    let handle = state.store.handle(id)?;
    read_session(
        &state,
        Target::by_handle(&state, &handle, caller),
        caller,
        &headers,
    )
}

/// `PUT /handles/{handleId}/session`.
pub(super) async fn put_session_by_handle(
    State(state): State<AppState>,
    caller: Caller,
    HandleId(id): HandleId,
    QueryPairs(query): QueryPairs,
    TakenHeaders(headers): TakenHeaders,
    body: JsonObject,
) -> ApiResult<Response> {
    let handle = state.store.handle(id)?;
    let target = Target::by_handle(&state, &handle, caller);
    write_session(&state, target, caller, &headers, &query, &body)
}
