//! `--data-dir`: the directory kept in an embedded, crash-safe store (issue #11, R14).
//!
//! The store is [redb](https://docs.rs/redb): a pure-Rust, ACID key-value store in one file, with copy-on-write
//! B-trees and a commit that is durable (fsync'd) when it returns. Chosen over fjall (an LSM tree with a
//! separate journal, more moving parts for a few thousand small documents and no need for write throughput)
//! and SQLite through rusqlite (a C build and an SQL schema for what is a key-value map).
//!
//! Each write to the directory becomes **one** redb transaction, committed before the in-memory state changes
//! and before the answer is sent: an acknowledged write is on disk, and a write whose commit fails changes
//! nothing (the answer is 503). The records are independent of the in-memory layout: each session is a
//! versioned JSON record (its reference, creator, branch, correlation ID, start time, `changeNumber`, ETag,
//! constants, properties, servers, role types, members with their timer state, next index, search handle,
//! former members, and the session's timer and initialization state) keyed
//! by its case-insensitive identity, each handle a JSON record (kind, creator, references, invitee and the
//! document) keyed by its GUID. On start, every record is read back.
//!
//! Without `data_dir` none of this runs: the store holds no `Persist` and writes skip it entirely.

use std::collections::BTreeSet;
use std::io;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use redb::{Database, ReadableDatabase as _, ReadableTable as _, TableDefinition};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::handles::{Handle, HandleKind};
use crate::model::{Etag, SessionRef};
use crate::session::timers::{Initializing, Stage};
use crate::session::{Bag, Member, Members, Session, TitleId};

/// The database file inside the data directory.
pub(crate) const FILE_NAME: &str = "mpsd.redb";
/// The version of the record format.
const FORMAT: u32 = 1;

const SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("sessions");
const HANDLES: TableDefinition<&str, &[u8]> = TableDefinition::new("handles");

/// A session reference as stored.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RefRecord {
    scid: String,
    template_name: String,
    name: String,
}

impl RefRecord {
    fn of(reference: &SessionRef) -> Self {
        Self {
            scid: reference.scid().to_owned(),
            template_name: reference.template_name().to_owned(),
            name: reference.name().to_owned(),
        }
    }

    /// The reference, checked as a request's would be (a record with a part no request could hold is corrupt).
    fn into_ref(self) -> io::Result<SessionRef> {
        SessionRef::new(
            &self.scid,
            &self.template_name,
            &self.name,
            "stored sessionRef",
        )
        .map_err(|error| io_error(format!("{error:?}")))
    }
}

/// A member as stored. Written from borrowed parts (`B` = the stored JSON text of constants and properties,
/// `V` = `&Value`), read back into owned ones (`Map`, `Value`); the JSON is the same.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MemberRecord<B, V> {
    index: u32,
    xuid: u64,
    constants: B,
    properties: B,
    roles: Option<V>,
    reserved: bool,
    active_title_id: Option<String>,
    join_time: DateTime<Utc>,
    /// Since when the member is in its state (its timers count from here); absent in older records: the join
    /// time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state_since: Option<DateTime<Utc>>,
    /// `initializationEpisode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    episode: Option<u32>,
    /// `initializationFailure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure: Option<String>,
}

/// A session's `initializing` as stored.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InitRecord {
    stage: String,
    stage_start: DateTime<Utc>,
    episode: u32,
}

/// A session as stored (`B` and `V` as for [`MemberRecord`]).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionRecord<B, V> {
    format: u32,
    reference: RefRecord,
    creator: Option<u64>,
    branch: Uuid,
    correlation_id: Uuid,
    start_time: DateTime<Utc>,
    change_number: u64,
    etag: String,
    constants: B,
    properties: B,
    role_types: Option<V>,
    servers: Option<V>,
    members: Vec<MemberRecord<B, V>>,
    next_index: u32,
    search_handle: Option<Uuid>,
    former_members: Vec<u64>,
    /// Since when the session is empty (`sessionEmptyTimeout`); absent in older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    empty_since: Option<DateTime<Utc>>,
    /// `initializing`, while member initialization runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    initializing: Option<InitRecord>,
    /// The number of initialization episodes started.
    #[serde(default, skip_serializing_if = "is_zero")]
    episodes: u32,
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

/// A session record as read back.
type LoadedRecord = SessionRecord<Map<String, Value>, Value>;

/// A handle as stored.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HandleRecord {
    format: u32,
    id: Uuid,
    kind: String,
    creator: u64,
    session: RefRecord,
    origin: Option<RefRecord>,
    invited: Option<u64>,
    doc: Map<String, Value>,
}

/// The storage key of a session: its case-insensitive identity (parts cannot hold control characters).
pub(crate) fn session_key(reference: &SessionRef) -> String {
    format!(
        "{}\u{1f}{}\u{1f}{}",
        reference.scid().to_lowercase(),
        reference.template_name().to_lowercase(),
        reference.name().to_lowercase()
    )
}

/// The changes of one directory write, committed together.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    sessions: Vec<(String, Option<Vec<u8>>)>,
    handles: Vec<(String, Option<Vec<u8>>)>,
}

fn encode(record: &impl Serialize) -> ApiResult<Vec<u8>> {
    serde_json::to_vec(record).map_err(|error| unavailable(&error))
}

impl Batch {
    /// Stores `session` (created by `creator`).
    pub(crate) fn put_session(&mut self, session: &Session, creator: Option<u64>) -> ApiResult<()> {
        // Borrows the stored texts and values: nothing of the session is copied but a few short strings.
        let record: SessionRecord<&RawValue, &Value> = SessionRecord {
            format: FORMAT,
            reference: RefRecord::of(&session.reference),
            creator,
            branch: session.branch,
            correlation_id: session.correlation_id,
            start_time: session.start_time,
            change_number: session.change_number,
            etag: session.etag.to_string(),
            constants: session.constants().raw(),
            properties: session.properties.raw(),
            role_types: session.role_types.as_deref(),
            servers: session.servers.as_deref(),
            members: session
                .members
                .iter()
                .map(|(index, member)| MemberRecord {
                    index: *index,
                    xuid: member.xuid,
                    constants: member.constants.raw(),
                    properties: member.properties().raw(),
                    roles: member.roles.as_deref(),
                    reserved: member.reserved,
                    active_title_id: member.active_title_id.as_ref().map(ToString::to_string),
                    join_time: member.join_time,
                    state_since: Some(member.state_since),
                    episode: member.episode,
                    failure: member.failure.as_deref().map(str::to_owned),
                })
                .collect(),
            next_index: session.next_index,
            search_handle: session.search_handle(),
            former_members: session.former_members().collect(),
            empty_since: session.empty_since,
            initializing: session.initializing().map(|init| InitRecord {
                stage: init.stage.as_str().to_owned(),
                stage_start: init.stage_start,
                episode: init.episode,
            }),
            episodes: session.episodes,
        };
        self.sessions
            .push((session_key(&session.reference), Some(encode(&record)?)));
        Ok(())
    }

    /// Removes the session at `reference`.
    pub(crate) fn delete_session(&mut self, reference: &SessionRef) {
        self.sessions.push((session_key(reference), None));
    }

    /// Stores `handle`.
    pub(crate) fn put_handle(&mut self, handle: &Handle) -> ApiResult<()> {
        let record = HandleRecord {
            format: FORMAT,
            id: handle.id,
            kind: handle.kind.as_str().to_owned(),
            creator: handle.creator,
            session: RefRecord::of(&handle.session),
            origin: handle.origin.as_ref().map(RefRecord::of),
            invited: handle.invited,
            doc: handle.doc.clone(),
        };
        self.handles
            .push((handle.id.to_string(), Some(encode(&record)?)));
        Ok(())
    }

    /// Removes the handle `id`.
    pub(crate) fn delete_handle(&mut self, id: Uuid) {
        self.handles.push((id.to_string(), None));
    }
}

/// The 503 a failed commit is answered with: nothing was written.
fn unavailable(error: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(%error, "persisting a write failed");
    ApiError::service_unavailable(format!(
        "The write could not be stored durably ({error}); nothing was written"
    ))
}

fn io_error(error: impl std::fmt::Display) -> io::Error {
    io::Error::other(error.to_string())
}

/// What a data directory held at start.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    /// Every session, with its creator.
    pub(crate) sessions: Vec<(Session, Option<u64>)>,
    /// Every handle.
    pub(crate) handles: Vec<Handle>,
}

/// The open store of a data directory.
#[derive(Debug)]
pub(crate) struct Persist {
    db: Database,
}

impl Persist {
    /// Opens (or creates) the store in `dir`, creating the directory when needed.
    pub(crate) fn open(dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let db = Database::create(dir.join(FILE_NAME)).map_err(io_error)?;
        let txn = db.begin_write().map_err(io_error)?;
        txn.open_table(SESSIONS).map_err(io_error)?;
        txn.open_table(HANDLES).map_err(io_error)?;
        txn.commit().map_err(io_error)?;
        Ok(Self { db })
    }

    /// Commits `batch` durably: when this returns `Ok`, the changes survive a crash.
    pub(crate) fn commit(&self, batch: Batch) -> ApiResult<()> {
        let txn = self.db.begin_write().map_err(|e| unavailable(&e))?;
        {
            let mut sessions = txn.open_table(SESSIONS).map_err(|e| unavailable(&e))?;
            for (key, value) in &batch.sessions {
                match value {
                    Some(bytes) => sessions.insert(key.as_str(), bytes.as_slice()).map(drop),
                    None => sessions.remove(key.as_str()).map(drop),
                }
                .map_err(|e| unavailable(&e))?;
            }
            let mut handles = txn.open_table(HANDLES).map_err(|e| unavailable(&e))?;
            for (key, value) in &batch.handles {
                match value {
                    Some(bytes) => handles.insert(key.as_str(), bytes.as_slice()).map(drop),
                    None => handles.remove(key.as_str()).map(drop),
                }
                .map_err(|e| unavailable(&e))?;
            }
        }
        txn.commit().map_err(|e| unavailable(&e))
    }

    /// Reads every stored session and handle.
    ///
    /// # Errors
    ///
    /// Fails on an unreadable store or a record that does not decode (the directory is then not served, rather
    /// than served without some of its data).
    pub(crate) fn load(&self) -> io::Result<Loaded> {
        let txn = self.db.begin_read().map_err(io_error)?;
        let mut loaded = Loaded::default();
        for entry in txn
            .open_table(SESSIONS)
            .map_err(io_error)?
            .iter()
            .map_err(io_error)?
        {
            let (key, value) = entry.map_err(io_error)?;
            let record: LoadedRecord = serde_json::from_slice(value.value()).map_err(|error| {
                io_error(format!(
                    "stored session {:?} does not decode: {error}",
                    key.value()
                ))
            })?;
            loaded.sessions.push(session_from(record)?);
        }
        for entry in txn
            .open_table(HANDLES)
            .map_err(io_error)?
            .iter()
            .map_err(io_error)?
        {
            let (key, value) = entry.map_err(io_error)?;
            let record: HandleRecord = serde_json::from_slice(value.value()).map_err(|error| {
                io_error(format!(
                    "stored handle {} does not decode: {error}",
                    key.value()
                ))
            })?;
            let kind = HandleKind::parse(&record.kind).ok_or_else(|| {
                io_error(format!(
                    "stored handle {} has kind {:?}",
                    record.id, record.kind
                ))
            })?;
            loaded.handles.push(Handle {
                id: record.id,
                kind,
                creator: record.creator,
                session: record.session.into_ref()?,
                origin: record.origin.map(RefRecord::into_ref).transpose()?,
                invited: record.invited,
                doc: record.doc,
            });
        }
        Ok(loaded)
    }
}

/// Rebuilds a session from its record.
fn session_from(record: LoadedRecord) -> io::Result<(Session, Option<u64>)> {
    let members: Members = record
        .members
        .into_iter()
        .map(|member| {
            let mut rebuilt = Member::new(
                member.xuid,
                &member.constants,
                &member.properties,
                member.reserved,
                member.active_title_id.as_deref().map(TitleId::from_text),
                member.join_time,
            );
            rebuilt.roles = member.roles.map(Box::new);
            rebuilt.state_since = member.state_since.unwrap_or(member.join_time);
            rebuilt.episode = member.episode;
            rebuilt.failure = member.failure.map(String::into_boxed_str);
            (member.index, Arc::new(rebuilt))
        })
        .collect();
    let reference = record.reference.into_ref()?;
    let mut session = Session::new(&reference, record.start_time);
    session.branch = record.branch;
    session.correlation_id = record.correlation_id;
    session.change_number = record.change_number;
    session.etag = Etag::from_text(&record.etag);
    session.set_constants(&record.constants);
    session.properties = Bag::from_map(&record.properties);
    session.role_types = record.role_types.map(Box::new);
    session.servers = record.servers.map(Box::new);
    session.members = members;
    session.next_index = record.next_index;
    session.put_search_handle(record.search_handle);
    session.set_former_members(record.former_members.into_iter().collect::<BTreeSet<u64>>());
    session.empty_since = record.empty_since;
    session.set_initializing(record.initializing.and_then(|init| {
        Some(Initializing {
            stage: Stage::parse(&init.stage)?,
            stage_start: init.stage_start,
            episode: init.episode,
        })
    }));
    session.episodes = record.episodes;
    Ok((session, record.creator))
}
