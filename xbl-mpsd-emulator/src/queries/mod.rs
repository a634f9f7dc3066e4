//! Session queries: `GET /serviceconfigs/{scid}[/sessiontemplates/{template}]/sessions` (by keyword or one
//! XUID) and `POST /serviceconfigs/{scid}[/sessiontemplates/{template}]/batch` (several XUIDs in the body).
//!
//! Semantics (DOCS `uri-serviceconfigsscidsessionsget.md`, `uri-serviceconfigsscidbatchpost.md`; XSAPI
//! `SessionQuery::PathAndQuery` and `MultiplayerService::GetSessions` in
//! `Source/Services/Multiplayer/multiplayer_service.cpp`; `docs/mpsd-notes.md`, "Session queries"):
//!
//! * a query needs a keyword, a XUID or both (400);
//! * with a XUID, a session matches only when that user is a member of it: active by default, inactive
//!   members (accepted, not active; "ready" counts as inactive) with `inactive=true`, reserved ones with
//!   `reservations=true`; `reservations` and `inactive` need a XUID (400);
//! * private sessions only with `private=true`; `private=true` and `reservations=true` need server-level access
//!   or a XUID filter that is the caller's own XUID, else 403 whether or not such sessions exist (the emulator
//!   knows no server principal, so only the second applies);
//! * `visibility` keeps the sessions a result reports with that visibility (`full` for an open session with no
//!   room left), `private` only with `private=true` (400); `version` keeps sessions whose major version is at most
//!   it (1 to the contract version modulo 100, else 400); `take` caps the results (0 to 100, else 400; 100
//!   without it);
//! * a batch takes 1 to 100 XUIDs (400 otherwise) and answers the sessions of each XUID in their order, a
//!   session once per XUID it matches; within one XUID (or a keyword-only query), sessions come oldest first.
//!
//! Bad input is a 400 with a text message naming the parameter; a path whose literal segments are not a
//! query's is 404, a known query path with the other verb 405; a template the emulator's template directory
//! (`--templates`) does not have is 404, as for session writes.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, OriginalUri, Path, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde_json::json;

use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::{ApiError, ApiResult};
use crate::model::SessionRef;
use crate::query_string::QueryPairs;
use crate::response;
use crate::store::Store;

mod filters;
mod results;

use filters::{Filters, batch_xuids};
use results::results;

/// The most results a query answers, and the most XUIDs a batch takes.
pub(crate) const MAX_RESULTS: usize = 100;

/// The query routes of five segments over `store`, to merge into the emulator's router. The three-segment
/// queries share their route with the template list (`routes::templates`), which calls [`query_by_get`],
/// [`query_by_post`] and [`other_method`] for them.
///
/// Every literal segment is matched ignoring case (as for session paths), so the segments are captured and
/// checked by the handlers: `/{serviceconfigs}/{scid}/{sessions|batch}` and
/// `/{serviceconfigs}/{scid}/{sessiontemplates}/{template}/{sessions|batch}`.
pub(crate) fn router(store: Arc<Store>) -> Router {
    Router::new()
        .route(
            "/{serviceconfigs}/{scid}/{session_templates}/{template}/{operation}",
            get(query_by_get).post(query_by_post).fallback(other_method),
        )
        .with_state(store)
}

/// Which query a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `…/sessions`: `GET`.
    Sessions,
    /// `…/batch`: `POST`.
    Batch,
}

impl Kind {
    /// The verb of this query.
    fn method(self) -> Method {
        match self {
            Self::Sessions => Method::GET,
            Self::Batch => Method::POST,
        }
    }
}

/// A query path: the SCID, the template (if any) and which query, with the parts still unchecked.
#[derive(Debug, Clone)]
pub(crate) struct QueryPath {
    scid: String,
    template: Option<String>,
    kind: Kind,
}

/// The path segments of a query route; a path whose literal segments are not a query's is 404, a segment that
/// is not UTF-8 once percent-decoded 400.
#[derive(Debug, Clone)]
pub(crate) struct Segments(QueryPath);

impl<S: Send + Sync> FromRequestParts<S> for Segments {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let segments = Path::<Vec<String>>::from_request_parts(parts, state)
            .await
            .map(|Path(segments)| segments)
            .map_err(|rejection| {
                ApiError::bad_request(format!(
                    "The query path is invalid: {}",
                    rejection.body_text()
                ))
            })?;
        query_path(&segments)
            .map(Self)
            .ok_or_else(|| ApiError::not_found(format!("No MPSD resource at {}", parts.uri.path())))
    }
}

/// The query a path's segments name, if they are a query path (literals compared ignoring ASCII case).
fn query_path(segments: &[String]) -> Option<QueryPath> {
    let literal = |segment: &str, name: &str| segment.eq_ignore_ascii_case(name);
    let kind = |segment: &str| {
        if literal(segment, "sessions") {
            Some(Kind::Sessions)
        } else if literal(segment, "batch") {
            Some(Kind::Batch)
        } else {
            None
        }
    };
    match segments {
        [serviceconfigs, scid, operation] if literal(serviceconfigs, "serviceconfigs") => {
            Some(QueryPath {
                scid: scid.clone(),
                template: None,
                kind: kind(operation)?,
            })
        }
        [serviceconfigs, scid, templates, template, operation]
            if literal(serviceconfigs, "serviceconfigs")
                && literal(templates, "sessiontemplates") =>
        {
            Some(QueryPath {
                scid: scid.clone(),
                template: Some(template.clone()),
                kind: kind(operation)?,
            })
        }
        _ => None,
    }
}

/// A verb the route has no handler for: 405 on a query path, 404 elsewhere.
pub(crate) async fn other_method(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    let segments: Option<Vec<String>> = uri
        .path()
        .split('/')
        .skip(1)
        .map(|segment| percent_decode(segment).ok())
        .collect();
    if segments.as_deref().and_then(query_path).is_some() {
        ApiError::method_not_allowed(format!("{method} is not allowed on {}", uri.path()))
    } else {
        ApiError::not_found(format!("No MPSD resource at {}", uri.path()))
    }
}

/// Percent-decodes a path segment (for the 404/405 choice only).
fn percent_decode(segment: &str) -> Result<String, ()> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or(())?;
                let text = std::str::from_utf8(hex).map_err(|_| ())?;
                out.push(u8::from_str_radix(text, 16).map_err(|_| ())?);
                i += 3;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

/// `GET …/sessions`.
pub(crate) async fn query_by_get(
    State(store): State<Arc<Store>>,
    caller: Caller,
    Segments(path): Segments,
    QueryPairs(query): QueryPairs,
) -> ApiResult<Response> {
    if path.kind != Kind::Sessions {
        return Err(wrong_method(&path, Method::GET));
    }
    let filters = Filters::parse(&query, caller.contract_version, true)?;
    answer(&store, caller, &path, filters, None)
}

/// `POST …/batch`.
pub(crate) async fn query_by_post(
    State(store): State<Arc<Store>>,
    caller: Caller,
    Segments(path): Segments,
    QueryPairs(query): QueryPairs,
    body: Result<JsonObject, ApiError>,
) -> ApiResult<Response> {
    // The verb first: a POST to a `sessions` query is 405 whatever its body.
    if path.kind != Kind::Batch {
        return Err(wrong_method(&path, Method::POST));
    }
    let JsonObject(body) = body?;
    let filters = Filters::parse(&query, caller.contract_version, false)?;
    let xuids = batch_xuids(&body)?;
    answer(&store, caller, &path, filters, Some(xuids))
}

/// 405 for a query path reached with the other verb.
fn wrong_method(path: &QueryPath, method: Method) -> ApiError {
    let (expected, what) = match path.kind {
        Kind::Sessions => (Kind::Sessions.method(), "sessions"),
        Kind::Batch => (Kind::Batch.method(), "batch"),
    };
    ApiError::method_not_allowed(format!(
        "{method} is not allowed on a {what} query; use {expected}"
    ))
}

/// Checks the path, the filters and the caller's rights, then answers the query.
fn answer(
    store: &Store,
    caller: Caller,
    path: &QueryPath,
    filters: Filters,
    batch: Option<Vec<u64>>,
) -> ApiResult<Response> {
    let scid = checked_part(&path.scid, "scid")?;
    let template = path
        .template
        .as_deref()
        .map(|template| checked_part(template, "sessionTemplateName"))
        .transpose()?;
    if let Some(template) = template {
        // 404 when the emulator has a template directory without this template, as for session writes.
        store.templates().template_for(scid, template)?;
    }
    let xuids = match batch {
        Some(xuids) => xuids,
        None => filters.xuid.into_iter().collect(),
    };
    filters.check(&xuids, caller)?;
    let sessions = store.sessions_where(|key| match template {
        Some(template) => key.in_template(scid, template),
        None => key.in_scid(scid),
    });
    let results = results(&sessions, &filters, &xuids);
    Ok(response::json(
        StatusCode::OK,
        &json!({ "results": results }),
    ))
}

/// A SCID or template name from the path, checked as session references check them (400 naming the part).
fn checked_part<'a>(part: &'a str, name: &str) -> ApiResult<&'a str> {
    // The same rule as a session reference's parts; the other two parts are placeholders that pass it.
    let (scid, template) = if name == "scid" {
        (part, "t")
    } else {
        ("s", part)
    };
    SessionRef::new(scid, template, "n", "query path").map_err(|_| {
        ApiError::bad_request(format!(
            "{name} must be a non-empty string of at most 99 printable characters, not '{}'",
            part.escape_debug()
        ))
    })?;
    Ok(part)
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value};

    use super::*;
    use filters::Reported;

    fn pairs(query: &[(&str, &str)]) -> Vec<(String, String)> {
        query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn error_text(result: ApiResult<Filters>) -> String {
        match result {
            Err(ApiError::Text(status, text)) => format!("{status} {text}"),
            other => panic!("not a text error: {other:?}"),
        }
    }

    #[test]
    fn query_paths_are_recognised_ignoring_case() {
        let segments = |path: &str| path.split('/').map(str::to_owned).collect::<Vec<_>>();
        let found = query_path(&segments("ServiceConfigs/s/SESSIONS")).expect("a query");
        assert_eq!((found.kind, found.template), (Kind::Sessions, None));
        let found =
            query_path(&segments("serviceconfigs/s/sessionTemplates/t/Batch")).expect("a query");
        assert_eq!(
            (found.kind, found.template.as_deref()),
            (Kind::Batch, Some("t"))
        );
        for other in [
            "handles/x/session",
            "serviceconfigs/s/other",
            "serviceconfigs/s/templates/t/sessions",
        ] {
            assert!(query_path(&segments(other)).is_none(), "{other}");
        }
        assert_eq!(percent_decode("a%2Fb").as_deref(), Ok("a/b"));
        assert!(percent_decode("%FF").is_err() && percent_decode("%4").is_err());
    }

    #[test]
    fn every_bad_parameter_is_a_400_naming_it() {
        for (query, named) in [
            (vec![("take", "500")], "take"),
            (vec![("take", "-1")], "take"),
            (vec![("visibility", "secret")], "visibility"),
            (vec![("visibility", "private")], "visibility=private"),
            (vec![("version", "8")], "version"),
            (vec![("version", "0")], "version"),
            (vec![("private", "yes")], "private"),
            (vec![("inactive", "1")], "inactive"),
            (vec![("xuid", "12x")], "xuid"),
            (vec![("keyword", "")], "keyword"),
            (vec![("keyword", "a"), ("keyword", "b")], "keyword"),
        ] {
            let text = error_text(Filters::parse(&pairs(&query), 107, true));
            assert!(
                text.starts_with("400 ") && text.contains(named),
                "{query:?}: {text}"
            );
        }
        let text = error_text(Filters::parse(&pairs(&[("xuid", "1")]), 107, false));
        assert!(text.contains("batch"), "{text}");
        let filters = Filters::parse(
            &pairs(&[
                ("visibility", "OPEN"),
                ("take", "0"),
                ("version", "7"),
                ("private", "True"),
            ]),
            107,
            true,
        )
        .expect("valid");
        assert_eq!(
            (
                filters.visibility,
                filters.take,
                filters.version,
                filters.private
            ),
            (Some(Reported::Open), 0, Some(7), true)
        );
        assert_eq!(
            Filters::parse(&[], 107, true).expect("valid").take,
            MAX_RESULTS
        );
    }

    #[test]
    fn batch_bodies_take_one_to_a_hundred_xuids() {
        let body = |xuids: Value| {
            let mut map = Map::new();
            map.insert("xuids".to_owned(), xuids);
            map
        };
        assert_eq!(batch_xuids(&body(json!(["1", "2"]))).ok(), Some(vec![1, 2]));
        let many: Vec<String> = (1..=101).map(|x: u64| x.to_string()).collect();
        for bad in [
            json!([]),
            json!(many),
            json!(["1", 2]),
            json!("1"),
            json!(["0"]),
        ] {
            assert!(batch_xuids(&body(bad.clone())).is_err(), "{bad}");
        }
        assert!(batch_xuids(&Map::new()).is_err());
    }
}
