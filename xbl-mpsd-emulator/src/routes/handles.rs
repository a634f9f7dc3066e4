//! Handle operations over HTTP: creating, querying, reading and deleting handles.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::auth::Caller;
use crate::body::JsonObject;
use crate::error::ApiResult;
use crate::handles::{self, Include};
use crate::response;

use super::{AppState, HandleId};
use crate::query_string::QueryPairs;

/// `POST /handles`.
pub(super) async fn create_handle(
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
pub(super) async fn query_handles(
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
pub(super) async fn get_handle(
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
pub(super) async fn delete_handle(
    State(state): State<AppState>,
    caller: Caller,
    HandleId(id): HandleId,
) -> ApiResult<Response> {
    state.store.delete_handle(id, caller.xuid)?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}
