//! The session explorer at `/explorer`: server-rendered pages that show the directory (sessions, members,
//! handles, templates, each session's recent changes), kept live by server-sent events, and — only with
//! [`EmulatorConfig::explorer_actions`] — development actions as plain HTML forms.
//!
//! Files: this one holds the routes, the handlers and the actions; `views` and `session_view` render the HTML
//! (maud, every value escaped), `feed` the live feed, `diff` the JSON diff of a history entry. The explorer
//! reads the store without settling timers, so looking never changes MPSD state; it needs no token and shows
//! none.

mod diff;
mod feed;
mod session_view;
mod views;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HOST, ORIGIN};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Router, middleware};
use maud::Markup;

use crate::config::EmulatorConfig;
use crate::connections::LIVE_FEED_PATH;
use crate::model::{SessionRef, parse_xuid};
use crate::rta::RtaControl;
use crate::store::{Inspected, Store, Writer};

/// The explorer's path prefix.
pub(crate) const PATH: &str = "/explorer";

/// The most sessions the list shows (the filters narrow it).
const LIST_LIMIT: usize = 500;

/// What the explorer's handlers share.
#[derive(Debug, Clone)]
struct Explorer {
    store: Arc<Store>,
    rta: RtaControl,
    config: Arc<EmulatorConfig>,
}

impl Explorer {
    /// Which development actions the pages offer.
    fn actions(&self) -> views::Actions {
        views::Actions {
            enabled: self.config.explorer_actions,
            manual_clock: self.config.clock.is_manual(),
        }
    }
}

/// The explorer's routes (merged into the emulator's router).
pub(crate) fn router(store: Arc<Store>, rta: RtaControl, config: &EmulatorConfig) -> Router {
    let state = Explorer {
        store,
        rta,
        config: Arc::new(config.clone()),
    };
    Router::new()
        .route(PATH, get(sessions_page))
        .route("/explorer/", get(|| async { Redirect::to(PATH) }))
        .route(
            "/explorer/sessions/{scid}/{template}/{name}",
            get(session_page),
        )
        .route(
            "/explorer/sessions/{scid}/{template}/{name}/raw",
            get(raw_session),
        )
        .route("/explorer/handles", get(handles_page))
        .route("/explorer/templates", get(templates_page))
        .route(LIVE_FEED_PATH, get(feed::events))
        .route("/explorer/assets/explorer.css", get(css))
        .route("/explorer/assets/explorer.js", get(js))
        .route("/explorer/actions/delete-session", post(delete_session))
        .route("/explorer/actions/remove-member", post(remove_member))
        .route("/explorer/actions/disconnect", post(disconnect))
        .route("/explorer/actions/advance-clock", post(advance_clock))
        .route("/explorer/{*rest}", get(not_found_page))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// No caching, no framing, no script or style but the explorer's own (an escaped value could never run anyway).
async fn security_headers(
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
             form-action 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// An HTML page with a status.
fn page(status: StatusCode, markup: Markup) -> Response {
    (status, markup).into_response()
}

/// A 400/403/404/409 answer: a page that says what went wrong.
#[derive(Debug)]
struct Problem {
    status: StatusCode,
    title: &'static str,
    message: String,
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        page(self.status, views::problem(self.title, &self.message))
    }
}

/// A [`Problem`].
fn problem(status: StatusCode, title: &'static str, message: &str) -> Problem {
    Problem {
        status,
        title,
        message: message.to_owned(),
    }
}

/// The sessions list's filters, as typed into its form (empty fields are no filter).
#[derive(Debug, Default, serde::Deserialize)]
struct ListQuery {
    #[serde(default)]
    scid: String,
    #[serde(default)]
    template: String,
    #[serde(default)]
    xuid: String,
}

/// `GET /explorer`: the sessions, filtered by SCID, template and member XUID.
async fn sessions_page(
    State(state): State<Explorer>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return problem(
            StatusCode::BAD_REQUEST,
            "Bad filter",
            "The query string could not be read; use the form's fields scid, template and xuid.",
        )
        .into_response();
    };
    let xuid = match query.xuid.trim() {
        "" => None,
        text => match parse_xuid(text) {
            Some(xuid) => Some(xuid),
            None => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "Bad filter",
                    &format!("'{text}' is not a XUID: a XUID is a non-zero decimal number."),
                )
                .into_response();
            }
        },
    };
    let filter = views::Filter {
        scid: query.scid.trim().to_owned(),
        template: query.template.trim().to_owned(),
        xuid,
    };
    let mut sessions: Vec<_> = state
        .store
        .all_sessions()
        .into_iter()
        .filter(|session| filter.accepts(session))
        .collect();
    sessions.sort_by_cached_key(|session| session.reference.key());
    let total = sessions.len();
    sessions.truncate(LIST_LIMIT);
    page(
        StatusCode::OK,
        views::sessions(
            &filter,
            &sessions,
            total,
            state.actions(),
            state.store.now(),
        ),
    )
}

/// The session a path names, or the 404/400 page to answer.
fn addressed(
    state: &Explorer,
    (scid, template, name): &(String, String, String),
) -> Result<(SessionRef, Inspected), Problem> {
    let reference = SessionRef::new(scid, template, name, "session").map_err(|_| {
        problem(
            StatusCode::BAD_REQUEST,
            "Bad session reference",
            "A SCID, template name or session name is empty, too long or holds control characters.",
        )
    })?;
    let Some(inspected) = state.store.inspect(&reference.key()) else {
        return Err(problem(
            StatusCode::NOT_FOUND,
            "No such session",
            &format!(
                "There is no session {}/{}/{} (it may have been deleted).",
                reference.scid(),
                reference.template_name(),
                reference.name()
            ),
        ));
    };
    Ok((reference, inspected))
}

/// `GET /explorer/sessions/{scid}/{template}/{name}`: one session.
async fn session_page(
    State(state): State<Explorer>,
    Path(path): Path<(String, String, String)>,
) -> Response {
    match addressed(&state, &path) {
        Err(failed) => failed.into_response(),
        Ok((reference, data)) => {
            let key = reference.key();
            let handles: Vec<_> = state
                .store
                .all_handles()
                .into_iter()
                .filter(|handle| handle.session.key() == key)
                .collect();
            let actions = state.actions();
            page(
                StatusCode::OK,
                session_view::session(&data, &handles, &state.rta, actions, state.store.now()),
            )
        }
    }
}

/// `GET /explorer/sessions/{scid}/{template}/{name}/raw`: the session document (contract 107), indented.
async fn raw_session(
    State(state): State<Explorer>,
    Path(path): Path<(String, String, String)>,
) -> Response {
    match addressed(&state, &path) {
        Err(failed) => failed.into_response(),
        Ok((_, data)) => {
            let document = data.session.render(107, 0);
            let text = serde_json::to_string_pretty(&document).unwrap_or_default();
            (
                [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                text,
            )
                .into_response()
        }
    }
}

/// `GET /explorer/handles`: every handle.
async fn handles_page(State(state): State<Explorer>) -> Response {
    let mut handles = state.store.all_handles();
    handles.sort_by_key(|handle| handle.id);
    page(StatusCode::OK, views::handles(&handles))
}

/// `GET /explorer/templates`: the session templates of `--templates`.
async fn templates_page(State(state): State<Explorer>) -> Response {
    page(
        StatusCode::OK,
        views::templates(
            state.config.templates.as_deref(),
            &state.store.templates().all(),
        ),
    )
}

/// Any other path under `/explorer`: 404.
async fn not_found_page() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "Not found",
        "The explorer has no page at this address.",
    )
    .into_response()
}

/// The stylesheet, embedded in the binary.
async fn css() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("assets/explorer.css"),
    )
}

/// The live-update script, embedded in the binary.
async fn js() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("assets/explorer.js"),
    )
}

/// Whether an action may run: actions are on, and the form was posted from the explorer itself (a page of
/// another site cannot make the browser post it: its `Origin` names that site). Else the page to answer.
fn allowed(state: &Explorer, headers: &HeaderMap) -> Result<(), Problem> {
    if !state.config.explorer_actions {
        return Err(problem(
            StatusCode::FORBIDDEN,
            "Actions are off",
            "The explorer's development actions are off: start the emulator with --explorer-actions \
             (EmulatorConfig::explorer_actions) to enable them. Nothing was changed.",
        ));
    }
    let host = headers.get(HOST).and_then(|v| v.to_str().ok());
    let origin = headers.get(ORIGIN).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (None, _) => Ok(()),
        (Some(origin), Some(host))
            if origin
                .strip_prefix("http://")
                .is_some_and(|rest| rest == host) =>
        {
            Ok(())
        }
        _ => Err(problem(
            StatusCode::FORBIDDEN,
            "Cross-site request",
            "This action was posted from another site's page; nothing was changed.",
        )),
    }
}

/// A posted form's `name=value` pairs, or the rejection (answered as a 400 page).
type FormPairs = Result<Form<Vec<(String, String)>>, FormRejection>;

/// A form field, or the 400 page naming it.
fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Result<&'a str, Problem> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
        .ok_or_else(|| {
            problem(
                StatusCode::BAD_REQUEST,
                "Bad form",
                &format!("The form has no field '{name}'."),
            )
        })
}

/// The session a form names (fields `scid`, `template`, `name`), and its explorer URL.
fn form_session(pairs: &[(String, String)]) -> Result<(SessionRef, String), Problem> {
    let reference = SessionRef::new(
        field(pairs, "scid")?,
        field(pairs, "template")?,
        field(pairs, "name")?,
        "session",
    )
    .map_err(|_| {
        problem(
            StatusCode::BAD_REQUEST,
            "Bad form",
            "The session reference is empty, too long or holds control characters.",
        )
    })?;
    let url = views::session_url(&reference);
    Ok((reference, url))
}

/// The XUID a form names (field `xuid`).
fn form_xuid(pairs: &[(String, String)]) -> Result<u64, Problem> {
    let text = field(pairs, "xuid")?;
    parse_xuid(text).ok_or_else(|| {
        problem(
            StatusCode::BAD_REQUEST,
            "Bad form",
            &format!("'{text}' is not a XUID."),
        )
    })
}

/// Runs an action: checks it is allowed, reads the form, and answers with a redirect (303, back to a page).
fn act(
    state: &Explorer,
    headers: &HeaderMap,
    form: FormPairs,
    action: impl FnOnce(&[(String, String)]) -> Result<String, Problem>,
) -> Response {
    if let Err(refused) = allowed(state, headers) {
        return refused.into_response();
    }
    let pairs = match form {
        Ok(Form(pairs)) => pairs,
        Err(rejection) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "Bad form",
                &format!("The form could not be read: {}", rejection.body_text()),
            )
            .into_response();
        }
    };
    match action(&pairs) {
        Ok(back) => Redirect::to(&back).into_response(),
        Err(failed) => failed.into_response(),
    }
}

/// `POST /explorer/actions/delete-session` (`scid`, `template`, `name`).
async fn delete_session(
    State(state): State<Explorer>,
    headers: HeaderMap,
    form: FormPairs,
) -> Response {
    act(&state, &headers, form, |pairs| {
        let (reference, _) = form_session(pairs)?;
        if state.store.delete_session(&reference.key()) {
            Ok(PATH.to_owned())
        } else {
            Err(problem(
                StatusCode::NOT_FOUND,
                "No such session",
                "The session does not exist (any more).",
            ))
        }
    })
}

/// `POST /explorer/actions/remove-member` (`scid`, `template`, `name`, `xuid`): the member leaves, as if it
/// wrote `{"members": {"me": null}}` (its activity goes; an emptied session may be deleted).
async fn remove_member(
    State(state): State<Explorer>,
    headers: HeaderMap,
    form: FormPairs,
) -> Response {
    act(&state, &headers, form, |pairs| {
        let (reference, url) = form_session(pairs)?;
        let xuid = form_xuid(pairs)?;
        let gone = || {
            problem(
                StatusCode::NOT_FOUND,
                "No such member",
                &format!("XUID {xuid} is not a member of that session (any more)."),
            )
        };
        let removed = state.store.leave(&reference, xuid, Writer::Explorer);
        match removed {
            Ok(true) => Ok(url),
            Ok(false) => Err(gone()),
            Err(error) => Err(problem(
                StatusCode::CONFLICT,
                "Not removed",
                &format!("The member could not be removed: {}", error_text(&error)),
            )),
        }
    })
}

/// What an MPSD error says.
fn error_text(error: &crate::error::ApiError) -> String {
    match error {
        crate::error::ApiError::Text(status, message) => format!("{status}: {message}"),
        crate::error::ApiError::PreconditionFailed(_) => "412: a precondition failed".to_owned(),
    }
}

/// `POST /explorer/actions/disconnect` (`scid`, `template`, `name`, `connection`): closes the RTA socket
/// holding that ConnectionId, as a network drop would.
async fn disconnect(
    State(state): State<Explorer>,
    headers: HeaderMap,
    form: FormPairs,
) -> Response {
    act(&state, &headers, form, |pairs| {
        let (_, url) = form_session(pairs)?;
        let connection = field(pairs, "connection")?;
        if state.rta.disconnect_connection(connection) {
            Ok(url)
        } else {
            Err(problem(
                StatusCode::NOT_FOUND,
                "Not connected",
                "No open RTA socket holds that ConnectionId.",
            ))
        }
    })
}

/// `POST /explorer/actions/advance-clock` (`seconds`, optional `back`): moves a manual clock forward.
async fn advance_clock(
    State(state): State<Explorer>,
    headers: HeaderMap,
    form: FormPairs,
) -> Response {
    act(&state, &headers, form, |pairs| {
        let text = field(pairs, "seconds")?;
        let seconds = text
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|seconds| *seconds <= 365 * 24 * 3600)
            .ok_or_else(|| {
                problem(
                    StatusCode::BAD_REQUEST,
                    "Bad form",
                    &format!("'{text}' is not a number of seconds (0 to a year)."),
                )
            })?;
        if state
            .config
            .clock
            .advance(Duration::from_secs(seconds))
            .is_none()
        {
            return Err(problem(
                StatusCode::NOT_FOUND,
                "No manual clock",
                "The emulator runs on the system clock; start it with --manual-clock to move time.",
            ));
        }
        let back = pairs
            .iter()
            .find(|(key, _)| key == "back")
            .map(|(_, value)| value.as_str())
            .filter(|back| back.starts_with("/explorer"))
            .unwrap_or(PATH);
        Ok(back.to_owned())
    })
}
