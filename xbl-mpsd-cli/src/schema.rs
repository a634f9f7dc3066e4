//! `xbl-mpsd schema <document>`: the JSON Schema of a document type, from the generated types
//! (`schemars::JsonSchema`), and the request-body help of the raw operation commands.

use clap::{Args, ValueEnum};
use schemars::schema::RootSchema;
use schemars::schema_for;
use xbl_mpsd_api::types::{
    CreateHandleRequest, HandleDocument, HandleQueryRequest, HandleQueryResponse,
    MultiplayerSession, MultiplayerSessionRequest, SessionQueryBatchRequest, SessionQueryResponse,
};

use crate::error::CliError;
use crate::output;

/// `xbl-mpsd schema …`
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The document type
    document: Document,
}

/// The documents of the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Document {
    /// A session as the service returns it (`MultiplayerSession`)
    Session,
    /// A session write: the delta a PUT sends (`MultiplayerSessionRequest`)
    SessionRequest,
    /// A handle document (`HandleDocument`)
    Handle,
    /// The body of `POST /handles` (`CreateHandleRequest`)
    CreateHandle,
    /// The body of `POST /handles/query` (`HandleQueryRequest`)
    HandleQuery,
    /// The answer of `POST /handles/query` (`HandleQueryResponse`)
    HandleQueryResponse,
    /// The body of a batch session query, `POST …/batch` (`SessionQueryBatchRequest`)
    SessionQueryBatch,
    /// The answer of a session query (`SessionQueryResponse`)
    SessionQueryResponse,
}

impl Document {
    /// The JSON Schema (draft 7) of this document.
    pub fn schema(self) -> RootSchema {
        match self {
            Self::Session => schema_for!(MultiplayerSession),
            Self::SessionRequest => schema_for!(MultiplayerSessionRequest),
            Self::Handle => schema_for!(HandleDocument),
            Self::CreateHandle => schema_for!(CreateHandleRequest),
            Self::HandleQuery => schema_for!(HandleQueryRequest),
            Self::HandleQueryResponse => schema_for!(HandleQueryResponse),
            Self::SessionQueryBatch => schema_for!(SessionQueryBatchRequest),
            Self::SessionQueryResponse => schema_for!(SessionQueryResponse),
        }
    }

    /// The `schema` argument that names this document.
    pub fn name(self) -> String {
        self.to_possible_value()
            .map(|value| value.get_name().to_owned())
            .unwrap_or_default()
    }

    /// The top-level property names of the document, in schema order.
    pub fn properties(self) -> Vec<String> {
        self.schema()
            .schema
            .object
            .map(|object| object.properties.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// A small valid example, for help texts.
    pub fn example(self) -> Option<&'static str> {
        match self {
            Self::SessionRequest => Some(
                r#"{"members":{"me":{"constants":{"system":{"xuid":"2533274792693551","initialize":true}},"properties":{"system":{"active":true}}}}}"#,
            ),
            Self::CreateHandle => Some(
                r#"{"version":1,"type":"invite","sessionRef":{"scid":"00000000-0000-0000-0000-00007a5b8c9d","templateName":"lobby","name":"s1"},"invitedXuid":"2814679796296491","inviteAttributes":{"titleId":"1234"}}"#,
            ),
            Self::HandleQuery => Some(
                r#"{"type":"activity","scid":"00000000-0000-0000-0000-00007a5b8c9d","owners":{"xuids":["2533274792693551"]}}"#,
            ),
            Self::SessionQueryBatch => Some(r#"{"xuids":["2533274792693551","2814679796296491"]}"#),
            _ => None,
        }
    }

    /// The long-help paragraph about this request body: shape, example, where the schema is.
    pub fn help(self) -> String {
        let mut text = format!(
            "Request body (--json-body): a JSON object with the keys {}.",
            self.properties().join(", ")
        );
        if let Some(example) = self.example() {
            text.push_str("\nExample:\n  ");
            text.push_str(example);
        }
        let by_hand = match self {
            Self::SessionQueryBatch => "`xbl-mpsd sessions query --xuid XUID,XUID …`",
            _ => "see `xbl-mpsd handle --help`",
        };
        text.push_str(&format!(
            "\nFull JSON Schema: xbl-mpsd schema {}. Build it without JSON by hand: {by_hand}.",
            self.name()
        ));
        text
    }
}

/// The request body document of an operation (by operationId), if it has one.
pub fn request_body(operation_id: &str) -> Option<Document> {
    match operation_id {
        "write_session" | "write_session_by_handle" => Some(Document::SessionRequest),
        "create_handle" => Some(Document::CreateHandle),
        "query_handles" => Some(Document::HandleQuery),
        "query_sessions_batch" | "query_template_sessions_batch" => {
            Some(Document::SessionQueryBatch)
        }
        _ => None,
    }
}

/// Runs `schema`: the schema as pretty JSON on stdout.
pub fn run(args: &SchemaArgs) -> Result<(), CliError> {
    output::json(&args.document.schema());
    Ok(())
}
