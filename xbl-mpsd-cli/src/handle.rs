//! `xbl-mpsd handle …`: typed handle commands built on the SDK's request builders
//! (`xbl_mpsd_ext::handles`), so nobody writes handle JSON by hand.

use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use xbl_mpsd_api::types::{HandleQueryRequest, SearchAttributes};
use xbl_mpsd_ext::{HandleId, Include, MpsdClient, Scid, SessionReference, TitleId, Xuid, handles};

use crate::error::CliError;
use crate::hints::sdk_error;
use crate::output;

/// `xbl-mpsd handle …`
#[derive(Debug, Subcommand)]
pub enum HandleCommand {
    /// Invite users to a session; prints the invite handle (its `id` goes into the invitee's activation URI),
    /// or with several --to one JSON line per invitee (exit 1 if any invite failed)
    Invite {
        /// The session, e.g. /serviceconfigs/SCID/sessionTemplates/lobby/sessions/NAME
        #[arg(long)]
        session: SessionReference,
        /// An invited user's XUID (repeatable, or comma-separated): one invite each, in order
        #[arg(long, required = true, value_delimiter = ',')]
        to: Vec<Xuid>,
        /// Title-defined context passed to the invitee (at most 256 characters URI-encoded)
        #[arg(long)]
        context: Option<String>,
        /// The title the invite is for (decimal)
        #[arg(long, default_value = "1234")]
        title_id: TitleId,
    },
    /// Publish the caller's activity in a session (the caller must be a member); prints the activity handle
    Activity {
        /// The session
        #[arg(long)]
        session: SessionReference,
    },
    /// Make a session findable by search (it needs the `searchable` capability); prints the search handle
    Search {
        /// The session
        #[arg(long)]
        session: SessionReference,
        /// A search tag (repeatable)
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// A string attribute KEY=VALUE (repeatable)
        #[arg(long = "string", value_name = "KEY=VALUE", value_parser = key_value)]
        strings: Vec<(String, String)>,
        /// A number attribute KEY=NUMBER (repeatable)
        #[arg(long = "number", value_name = "KEY=NUMBER", value_parser = key_number)]
        numbers: Vec<(String, f64)>,
    },
    /// Extend access to one session (e.g. a lobby) to another (e.g. a game); prints the transfer handle
    Transfer {
        /// The session the handle points to (the game)
        #[arg(long)]
        session: SessionReference,
        /// The session whose members may use it (the lobby)
        #[arg(long)]
        from: SessionReference,
    },
    /// Read a handle document
    Get(HandleIdArg),
    /// Delete a handle (clears an activity, withdraws a search handle)
    Delete(HandleIdArg),
    /// Find activity handles of users, or search handles of a template; prints a JSON array
    Query(QueryArgs),
}

/// A handle ID argument.
#[derive(Debug, Args)]
pub struct HandleIdArg {
    /// The handle ID (a GUID)
    handle_id: HandleId,
}

/// `handle query`
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// Which handles
    #[arg(long = "type", value_enum, default_value_t = QueryType::Activity)]
    kind: QueryType,
    /// The SCID to search
    #[arg(long)]
    scid: Scid,
    /// Activities: the owners' XUIDs (repeatable)
    #[arg(
        long = "owner",
        value_name = "XUID",
        required_if_eq("kind", "activity")
    )]
    owners: Vec<Xuid>,
    /// Search: the session template
    #[arg(long, required_if_eq("kind", "search"))]
    template: Option<String>,
    /// Search: an OData-like filter, e.g. "strings/mode eq 'coop'"
    #[arg(long, requires = "template")]
    filter: Option<String>,
    /// Extra sections (comma-separated)
    #[arg(long, value_enum, value_delimiter = ',')]
    include: Vec<IncludeArg>,
}

/// `handle query --type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum QueryType {
    /// Activity handles of `--owner` users
    Activity,
    /// Search handles of `--template`
    Search,
}

/// `--include` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum IncludeArg {
    /// The session's visibility, join restriction, member counts
    #[value(name = "relatedInfo", alias = "related-info")]
    RelatedInfo,
    /// The session's `properties.custom`
    #[value(name = "customProperties", alias = "custom-properties")]
    CustomProperties,
    /// The session's role types
    #[value(name = "roleInfo", alias = "role-info")]
    RoleInfo,
}

impl From<IncludeArg> for Include {
    fn from(value: IncludeArg) -> Self {
        match value {
            IncludeArg::RelatedInfo => Self::RelatedInfo,
            IncludeArg::CustomProperties => Self::CustomProperties,
            IncludeArg::RoleInfo => Self::RoleInfo,
        }
    }
}

fn key_value(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got {text:?}"))?;
    if key.is_empty() {
        return Err(format!("empty key in {text:?}"));
    }
    Ok((key.to_owned(), value.to_owned()))
}

fn key_number(text: &str) -> Result<(String, f64), String> {
    let (key, value) = key_value(text)?;
    let number: f64 = value
        .parse()
        .map_err(|_| format!("{value:?} is not a number (in {text:?})"))?;
    if !number.is_finite() {
        return Err(format!("{value:?} is not a finite number"));
    }
    Ok((key, number))
}

/// A generated document from JSON we built (never fails for the shapes built here; reported if it does).
fn from_json<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, CliError> {
    serde_json::from_value(value).map_err(|e| CliError::Usage(format!("invalid request: {e}")))
}

/// Runs a `handle` command.
pub async fn run(command: &HandleCommand, client: &MpsdClient) -> Result<(), CliError> {
    let body = match command {
        HandleCommand::Invite {
            session,
            to,
            context,
            title_id,
        } => match to.as_slice() {
            [one] => handles::invite_request(session, *one, *title_id, context.as_deref()),
            several => {
                return crate::sessions::invite_many(
                    client,
                    session,
                    several,
                    *title_id,
                    context.as_deref(),
                )
                .await;
            }
        },
        HandleCommand::Activity { session } => handles::activity_request(session),
        HandleCommand::Search {
            session,
            tags,
            strings,
            numbers,
        } => {
            let attributes: SearchAttributes = from_json(json!({
                "tags": tags,
                "strings": strings.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
                "numbers": numbers.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
            }))?;
            handles::search_request(session, attributes)
        }
        HandleCommand::Transfer { session, from } => handles::transfer_request(session, from),
        HandleCommand::Get(HandleIdArg { handle_id }) => {
            let document = client
                .get_handle(*handle_id)
                .send()
                .await
                .map_err(sdk_error)?;
            output::document(&document);
            return Ok(());
        }
        HandleCommand::Delete(HandleIdArg { handle_id }) => {
            client
                .delete_handle(*handle_id)
                .send()
                .await
                .map_err(sdk_error)?;
            output::stderr_line(&format!("deleted handle {handle_id}"));
            return Ok(());
        }
        HandleCommand::Query(args) => return query(args, client).await,
    };
    match client
        .create_handle(body)
        .send()
        .await
        .map_err(sdk_error)?
        .document
    {
        Some(document) => output::document(&document),
        None => output::stderr_line("(the service answered success without a handle document)"),
    }
    Ok(())
}

async fn query(args: &QueryArgs, client: &MpsdClient) -> Result<(), CliError> {
    let request: handles::HandleQuery = match args.kind {
        QueryType::Activity => handles::activities_query(&args.scid, &args.owners),
        QueryType::Search => {
            let mut query = json!({"type": "search", "scid": args.scid.as_str()});
            if let Some(template) = &args.template {
                query["templateName"] = json!(template);
            }
            if let Some(filter) = &args.filter {
                query["filter"] = json!(filter);
            }
            from_json::<HandleQueryRequest>(query)?.into()
        }
    };
    let query = args
        .include
        .iter()
        .fold(client.query_handles(request), |query, include| {
            query.include(Include::from(*include))
        });
    let found = query.send().await.map_err(sdk_error)?;
    // The `results` of the answer as sent (key order kept), else the typed handles re-encoded.
    match output::document_value(&found) {
        serde_json::Value::Object(mut answer) if answer.contains_key("results") => {
            output::json(&answer.remove("results"));
        }
        _ => output::json(&found),
    }
    Ok(())
}
