//! Session templates over HTTP: listing and reading templates, and the three-segment paths shared with the session
//! queries.

use std::sync::Arc;

use axum::extract::Request;
use axum::extract::{OriginalUri, State};
use axum::handler::Handler;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::response;

use super::{AppState, method_not_allowed, not_found};

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
pub(super) async fn template_fallback(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    if template_path(uri.path()).is_some() {
        method_not_allowed(method, OriginalUri(uri)).await
    } else {
        not_found(OriginalUri(uri)).await
    }
}

/// `GET` on three segments: the template list (`/serviceconfigs/{scid}/sessiontemplates`), else a session
/// query (`queries`: `…/sessions`, 404 for other paths).
pub(super) async fn templates_or_query_get(
    State(state): State<AppState>,
    request: Request,
) -> Response {
    if template_path(request.uri().path()).is_some() {
        list_templates.call(request, state).await
    } else {
        crate::queries::query_by_get
            .call(request, Arc::clone(&state.store))
            .await
    }
}

/// `POST` on three segments: a batch session query (`queries`), 405 on the template list.
pub(super) async fn templates_or_query_post(
    State(state): State<AppState>,
    request: Request,
) -> Response {
    if template_path(request.uri().path()).is_some() {
        template_fallback.call(request, state).await
    } else {
        crate::queries::query_by_post
            .call(request, Arc::clone(&state.store))
            .await
    }
}

/// Other verbs on three segments: 405 on the template list and the query paths, 404 elsewhere.
pub(super) async fn templates_or_query_other(
    State(state): State<AppState>,
    request: Request,
) -> Response {
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
pub(super) async fn get_template(
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
