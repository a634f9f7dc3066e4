//! The HTTP surface: the router, one handler per MPSD operation, and the 404/405 fallbacks.
//!
//! Files: this one builds the router and holds the shared state, extractors and fallbacks; `sessions`,
//! `handles`, `templates` and `clock` hold the handlers of their operations.

mod clock;
mod handles;
mod sessions;
mod templates;

use std::sync::{Arc, Weak};

use axum::extract::{FromRequestParts, OriginalUri, Path, State};
use axum::http::Method;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Router, middleware};
use uuid::Uuid;

use crate::SignInMock;
use crate::body_limit::{BodyLimits, limit_body};
use crate::config::EmulatorConfig;
use crate::error::ApiError;
use crate::explain::RequestLog;
use crate::rta::{RtaControl, RtaHub};
use crate::store::Store;

use self::clock::{CLOCK_PATH, advance_clock, date_from_clock, read_clock};
use self::handles::{create_handle, delete_handle, get_handle, query_handles};
use self::sessions::{get_session, get_session_by_handle, put_session, put_session_by_handle};
use self::templates::{
    get_template, template_fallback, templates_or_query_get, templates_or_query_other,
    templates_or_query_post,
};

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
    let explorer = crate::explorer::router(
        Arc::clone(&store),
        RtaControl(Arc::clone(&hub)),
        &state.config,
    );
    let mut app = app
        .with_state(state)
        .merge(explorer)
        .merge(queries)
        .merge(crate::signin_mock::router(sign_in.clone()))
        .layer(middleware::from_fn_with_state(
            Front {
                limits: BodyLimits {
                    max_bytes: limit,
                    timeout: body_read_timeout,
                },
                sign_in,
            },
            front,
        ));
    if clock.is_manual() {
        app = app.layer(middleware::from_fn_with_state(clock, date_from_clock));
    }
    (rta.merge(app), hub, store)
}

/// Unknown paths: 404 text.
async fn not_found(OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::not_found(format!("No MPSD resource at {}", uri.path()))
}

/// Known paths, wrong verb: 405 text.
async fn method_not_allowed(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::method_not_allowed(format!("{method} is not allowed on {}", uri.path()))
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

/// The state of [`front`].
#[derive(Clone)]
struct Front {
    limits: BodyLimits,
    sign_in: SignInMock,
}

/// The router's one middleware (one boxed future and one clone of the routes per request, where four
/// layers cost four; BENCHMARKS.md, P4): the sign-in mock as a request extension, the request log (`explain`),
/// the body read within its limits (`body_limit`), and the `Allow` header of a 405.
///
/// A 405 names the methods its resource has (`Allow`, RFC 9110). The session-query, batch and template paths
/// share their routes (their literal segments are matched ignoring case), so axum's own list would be their
/// union: the right one is set from the path here.
async fn front(
    State(Front { limits, sign_in }): State<Front>,
    mut request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    // The sign-in mock, for `Caller` to accept its tokens (an extension set here rather than by a layer of
    // its own).
    request.extensions_mut().insert(sign_in);
    let log = RequestLog::start(&request);
    let uri = request.uri().clone();
    let mut response = limit_body(limits, request, next).await;
    if response.status() == axum::http::StatusCode::METHOD_NOT_ALLOWED
        && let Some(allow) = allowed_methods(uri.path())
    {
        response.headers_mut().insert(
            axum::http::header::ALLOW,
            axum::http::HeaderValue::from_static(allow),
        );
    }
    if let Some(log) = log {
        log.finish(&response);
    }
    response
}

/// The methods of a query, batch or template path; `None` for the other paths (axum's list is right there).
fn allowed_methods(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let is = |segment: &str, name: &str| segment.eq_ignore_ascii_case(name);
    let by_last = |last: &str| {
        if is(last, "sessions") {
            Some("GET,HEAD")
        } else if is(last, "batch") {
            Some("POST")
        } else {
            None
        }
    };
    match segments.as_slice() {
        [root, _, last] if is(root, "serviceconfigs") => {
            if is(last, "sessiontemplates") {
                Some("GET,HEAD")
            } else {
                by_last(last)
            }
        }
        [root, _, templates, _]
            if is(root, "serviceconfigs") && is(templates, "sessiontemplates") =>
        {
            Some("GET,HEAD")
        }
        [root, _, templates, _, last]
            if is(root, "serviceconfigs") && is(templates, "sessiontemplates") =>
        {
            by_last(last)
        }
        _ => None,
    }
}
