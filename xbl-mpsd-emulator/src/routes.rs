//! The HTTP surface: the router, one handler per MPSD operation, and the 404/405 fallbacks.

use std::sync::{Arc, Weak};

use axum::extract::Request;
use axum::extract::{DefaultBodyLimit, FromRequestParts, OriginalUri, Path, Query, State};
use axum::handler::Handler;
use axum::http::HeaderValue;
use axum::http::header::{DATE, IF_MATCH, IF_NONE_MATCH};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Router, middleware};
use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::Clock;
use crate::auth::Caller;
use crate::body::JsonObject;
use crate::body_limit::{BodyLimits, limit_body};
use crate::config::EmulatorConfig;
use crate::error::{ApiError, ApiResult};
use crate::handles::{self, Handle, Include};
use crate::model::{SessionRef, timestamp};
use crate::response;
use crate::rta::RtaHub;
use crate::session::write::WriteContext;
use crate::store::{Preconditions, Store, WriteReply, WriteRequest, etag_listed};
use crate::time::http_date;

/// Shared state of all handlers.
#[derive(Debug, Clone)]
struct AppState {
    store: Arc<Store>,
    config: Arc<EmulatorConfig>,
}

/// Builds the emulator's router over `store`.
pub(crate) fn router(config: EmulatorConfig, store: Store) -> Router {
    build(config, store).0
}

/// Builds the emulator's router over `store`, its RTA hub, and the store as shared by the router.
pub(crate) fn build(config: EmulatorConfig, store: Store) -> (Router, Arc<RtaHub>, Arc<Store>) {
    let limit = config.max_body_bytes;
    let body_read_timeout = config.body_read_timeout;
    let store = Arc::new(store);
    let hub = RtaHub::attach(&store, &config);
    if config.sweep_timers {
        if config.clock.is_manual() {
            let weak: Weak<Store> = Arc::downgrade(&store);
            config.clock.on_advance(weak);
        } else {
            crate::store::spawn_sweeper(&store);
        }
    }
    let clock = config.clock.clone();
    let sign_in = config.sign_in.clone();
    let queries = crate::queries::router(Arc::clone(&store));
    let state = AppState {
        store: Arc::clone(&store),
        config: Arc::new(config),
    };
    let rta = Router::new()
        .route(
            "/connect",
            get(crate::rta::connect).fallback(method_not_allowed),
        )
        .with_state(Arc::clone(&hub))
        // `/connect` takes the same tokens as MPSD, sign-in mock tokens included.
        .layer(axum::Extension(sign_in.clone()));
    let mut app = Router::new()
        // Every literal segment of the session path is matched ignoring case, so all six segments are captured.
        .route(
            "/{serviceconfigs}/{scid}/{session_templates}/{template}/{sessions}/{name}",
            get(get_session)
                .put(put_session)
                .fallback(method_not_allowed),
        )
        // `GET /serviceconfigs/{scid}/sessiontemplates[/{name}]`, literal segments ignoring case. Three segments
        // are also a session query (`…/sessions`, `…/batch`, `queries`): one route, dispatched by the path.
        .route(
            "/{serviceconfigs}/{scid}/{session_templates}",
            get(templates_or_query_get)
                .post(templates_or_query_post)
                .fallback(templates_or_query_other),
        )
        .route(
            "/{serviceconfigs}/{scid}/{session_templates}/{template}",
            get(get_template).fallback(template_fallback),
        )
        .route("/handles", post(create_handle).fallback(method_not_allowed))
        .route(
            "/handles/query",
            post(query_handles).fallback(method_not_allowed),
        )
        .route(
            "/handles/{handle_id}",
            get(get_handle)
                .delete(delete_handle)
                .fallback(method_not_allowed),
        )
        .route(
            "/handles/{handle_id}/session",
            get(get_session_by_handle)
                .put(put_session_by_handle)
                .fallback(method_not_allowed),
        )
        .fallback(not_found);
    if clock.is_manual() {
        app = app.route(
            CLOCK_PATH,
            get(read_clock)
                .post(advance_clock)
                .fallback(method_not_allowed),
        );
    }
    let mut app = app
        .with_state(state)
        .merge(queries)
        .merge(crate::signin_mock::router(sign_in.clone()))
        .layer(axum::Extension(sign_in))
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(
            BodyLimits {
                max_bytes: limit,
                timeout: body_read_timeout,
            },
            limit_body,
        ))
        .layer(axum::middleware::from_fn(crate::explain::log_request));
    if clock.is_manual() {
        app = app.layer(middleware::from_fn_with_state(clock, date_from_clock));
    }
    (rta.merge(app), hub, store)
}

/// The manual clock's endpoint (`--manual-clock` only; 404 otherwise).
pub(crate) const CLOCK_PATH: &str = "/_emulator/clock";

/// With a manual clock, every answer's `Date` is the clock's (hyper's own would be the system time).
async fn date_from_clock(State(clock): State<Clock>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&http_date(clock.utc())) {
        response.headers_mut().insert(DATE, value);
    }
    response
}

/// `{"now": "<RFC 3339>"}`.
fn clock_answer(now: DateTime<Utc>) -> Response {
    response::json(StatusCode::OK, &json!({ "now": timestamp(now) }))
}

/// `GET /_emulator/clock`: the manual clock's time.
async fn read_clock(State(state): State<AppState>) -> Response {
    clock_answer(state.config.clock.utc())
}

/// `POST /_emulator/clock` with `{"advanceMs": N}`: moves the manual clock forward by N milliseconds, applies
/// the timers that fell due (the sweep, unless it is off), and answers the new time.
async fn advance_clock(
    State(state): State<AppState>,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    if let Some(key) = body.keys().find(|key| key.as_str() != "advanceMs") {
        return Err(ApiError::bad_request(format!(
            "'{key}' is not a clock field; send {{\"advanceMs\": <milliseconds>}}"
        )));
    }
    let millis = match body.get("advanceMs") {
        None => {
            return Err(ApiError::bad_request(
                "advanceMs is required: {\"advanceMs\": <milliseconds>}",
            ));
        }
        Some(value) => value
            .as_u64()
            .and_then(|millis| i64::try_from(millis).ok())
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "advanceMs must be a non-negative integer of milliseconds, not {value}"
                ))
            })?,
    };
    let now = state.config.clock.advance_millis(millis).ok_or_else(|| {
        ApiError::bad_request(format!(
            "advancing the clock by {millis} ms leaves the representable range"
        ))
    })?;
    Ok(clock_answer(now))
}

/// Unknown paths: 404 text.
async fn not_found(OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::not_found(format!("No MPSD resource at {}", uri.path()))
}

/// Known paths, wrong verb: 405 text.
async fn method_not_allowed(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::method_not_allowed(format!("{method} is not allowed on {}", uri.path()))
}

/// The SCID and, for one template, its name, when `path` is `/serviceconfigs/{scid}/sessiontemplates[/{name}]`
/// (literal segments in any case).
fn template_path(path: &str) -> Option<(String, Option<String>)> {
    let segments: Vec<&str> = path.split('/').collect();
    let (scid, name) = match segments.as_slice() {
        ["", a, scid, b] if literals(a, b) => (scid, None),
        ["", a, scid, b, name] if literals(a, b) => (scid, Some(name)),
        _ => return None,
    };
    let decode = |text: &str| percent_decode(text).filter(|text| !text.is_empty());
    let name = match name {
        Some(name) => Some(decode(name)?),
        None => None,
    };
    Some((decode(scid)?, name))
}

fn literals(serviceconfigs: &str, session_templates: &str) -> bool {
    serviceconfigs.eq_ignore_ascii_case("serviceconfigs")
        && session_templates.eq_ignore_ascii_case("sessiontemplates")
}

/// A path segment, percent-decoded; `None` when it is not UTF-8 once decoded.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        let hex = |at: usize| {
            bytes
                .get(at)
                .and_then(|digit| (*digit as char).to_digit(16))
        };
        match (byte, hex(index + 1), hex(index + 2)) {
            (b'%', Some(high), Some(low)) => {
                out.push(u8::try_from(high * 16 + low).ok()?);
                index += 3;
            }
            _ => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Other verbs on the template paths: 405 when the path names templates, else 404 (the same shapes hold
/// `/handles/{id}/session` and other paths that are no resource).
async fn template_fallback(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    if template_path(uri.path()).is_some() {
        method_not_allowed(method, OriginalUri(uri)).await
    } else {
        not_found(OriginalUri(uri)).await
    }
}

/// `GET` on three segments: the template list (`/serviceconfigs/{scid}/sessiontemplates`), else a session
/// query (`queries`: `…/sessions`, 404 for other paths).
async fn templates_or_query_get(State(state): State<AppState>, request: Request) -> Response {
    if template_path(request.uri().path()).is_some() {
        list_templates.call(request, state).await
    } else {
        crate::queries::query_by_get
            .call(request, Arc::clone(&state.store))
            .await
    }
}

/// `POST` on three segments: a batch session query (`queries`), 405 on the template list.
async fn templates_or_query_post(State(state): State<AppState>, request: Request) -> Response {
    if template_path(request.uri().path()).is_some() {
        template_fallback.call(request, state).await
    } else {
        crate::queries::query_by_post
            .call(request, Arc::clone(&state.store))
            .await
    }
}

/// Other verbs on three segments: 405 on the template list and the query paths, 404 elsewhere.
async fn templates_or_query_other(State(state): State<AppState>, request: Request) -> Response {
    if template_path(request.uri().path()).is_some() {
        template_fallback.call(request, state).await
    } else {
        crate::queries::other_method
            .call(request, Arc::clone(&state.store))
            .await
    }
}

/// `GET /serviceconfigs/{scid}/sessiontemplates`: `{"results": [{"name", "contractVersion"}]}`.
async fn list_templates(
    State(state): State<AppState>,
    _caller: Caller,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Response> {
    let Some((scid, None)) = template_path(uri.path()) else {
        return Err(not_found(OriginalUri(uri)).await);
    };
    check_name(&scid, "SCID")?;
    let results: Vec<serde_json::Value> = state
        .store
        .templates()
        .list(&scid)
        .into_iter()
        .map(
            |(name, contract_version)| json!({ "name": name, "contractVersion": contract_version }),
        )
        .collect();
    Ok(response::json(
        StatusCode::OK,
        &json!({ "results": results }),
    ))
}

/// `GET /serviceconfigs/{scid}/sessiontemplates/{name}`: the template document, or 404.
async fn get_template(
    State(state): State<AppState>,
    _caller: Caller,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Response> {
    let Some((scid, Some(name))) = template_path(uri.path()) else {
        return Err(not_found(OriginalUri(uri)).await);
    };
    check_name(&scid, "SCID")?;
    check_name(&name, "session template name")?;
    let template = state.store.templates().template_for(&scid, &name)?;
    Ok(response::json(StatusCode::OK, &template.document()))
}

/// A SCID or template name in a path: 1 to 99 characters, no control characters (400 otherwise), as for
/// session paths.
fn check_name(text: &str, what: &str) -> ApiResult<()> {
    if text.chars().count() > 99 || text.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "The {what} must be 1 to 99 characters without control characters"
        )));
    }
    Ok(())
}

/// The six captured segments of a session path.
type SessionPath = (String, String, String, String, String, String);

/// The six segments of a session path; a segment that is not UTF-8 once percent-decoded is a 400 with a text
/// body (axum's own rejection would be answered without the emulator's headers).
#[derive(Debug, Clone)]
struct SessionSegments(SessionPath);

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

/// The `{handleId}` path segment. Anything but a GUID (including a segment that is not UTF-8 once
/// percent-decoded) is an unknown handle: 404, never 400, which the handle operations do not declare.
#[derive(Debug, Clone, Copy)]
struct HandleId(Uuid);

impl<S: Send + Sync> FromRequestParts<S> for HandleId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let text = Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(text)| text)
            .map_err(|_| {
                ApiError::not_found("The requested handle wasn't found: its ID is not a GUID")
            })?;
        Uuid::parse_str(&text).map(Self).map_err(|_| {
            ApiError::not_found(format!(
                "The requested handle wasn't found: '{text}' is not a GUID"
            ))
        })
    }
}

/// The query string as `(name, value)` pairs, in order, repeated names kept. A query string that cannot be
/// decoded is a 400 with a text body (never axum's default rejection).
#[derive(Debug, Clone, Default)]
struct QueryPairs(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map(|Query(pairs)| Self(pairs))
            .map_err(|rejection| {
                ApiError::bad_request(format!(
                    "The query string is invalid: {}",
                    rejection.body_text()
                ))
            })
    }
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
        .template_for(&reference.scid, &reference.template_name)?;
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
        .template_for(&reference.scid, &reference.template_name)?;
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

/// `GET /serviceconfigs/{scid}/sessionTemplates/{template}/sessions/{name}`.
async fn get_session(
    State(state): State<AppState>,
    caller: Caller,
    SessionSegments(path): SessionSegments,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let reference = session_ref(path)?;
    let target = Target::by_reference(&state, &reference, caller);
    read_session(&state, target, caller, &headers)
}

/// `PUT /serviceconfigs/{scid}/sessionTemplates/{template}/sessions/{name}`.
async fn put_session(
    State(state): State<AppState>,
    caller: Caller,
    SessionSegments(path): SessionSegments,
    QueryPairs(query): QueryPairs,
    headers: HeaderMap,
    body: JsonObject,
) -> ApiResult<Response> {
    let reference = session_ref(path)?;
    let target = Target::by_reference(&state, &reference, caller);
    write_session(&state, target, caller, &headers, &query, &body)
}

/// `POST /handles`.
async fn create_handle(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    let request = handles::parse_request(&body)?;
    let doc = state
        .store
        .create_handle(request, caller.xuid, state.store.now(), &state.config)?;
    Ok(response::json(StatusCode::CREATED, &doc))
}

/// `POST /handles/query?include=…`.
async fn query_handles(
    State(state): State<AppState>,
    _caller: Caller,
    QueryPairs(query): QueryPairs,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    let handle_query = handles::parse_query(&body)?;
    let include = Include::parse(
        query
            .iter()
            .find(|(name, _)| name == "include")
            .map(|(_, value)| value.as_str()),
    );
    let results = state.store.query(&handle_query, include);
    Ok(response::json(
        StatusCode::OK,
        &json!({ "results": results }),
    ))
}

/// `GET /handles/{handleId}`: the handle document.
async fn get_handle(
    State(state): State<AppState>,
    _caller: Caller,
    HandleId(id): HandleId,
) -> ApiResult<Response> {
    let handle = state.store.handle(id)?;
    Ok(response::json(
        StatusCode::OK,
        &serde_json::Value::Object(handle.doc.clone()),
    ))
}

/// `DELETE /handles/{handleId}`.
async fn delete_handle(
    State(state): State<AppState>,
    caller: Caller,
    HandleId(id): HandleId,
) -> ApiResult<Response> {
    state.store.delete_handle(id, caller.xuid)?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}

/// `GET /handles/{handleId}/session`.
async fn get_session_by_handle(
    State(state): State<AppState>,
    caller: Caller,
    HandleId(id): HandleId,
    headers: HeaderMap,
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
async fn put_session_by_handle(
    State(state): State<AppState>,
    caller: Caller,
    HandleId(id): HandleId,
    QueryPairs(query): QueryPairs,
    headers: HeaderMap,
    body: JsonObject,
) -> ApiResult<Response> {
    let handle = state.store.handle(id)?;
    let target = Target::by_handle(&state, &handle, caller);
    write_session(&state, target, caller, &headers, &query, &body)
}
