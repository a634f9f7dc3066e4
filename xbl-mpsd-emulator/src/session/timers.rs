//! Session and member timers (contract 107), and managed member initialization.
//!
//! The service applies timers lazily: "When a timer expires, MPSD does not automatically update the session …
//! The session and timeout states are only updated immediately before a read or write request" (DOCS
//! `live-mpsd-details.md`). [`apply`] is that update: the store runs it before any request that reads or writes a
//! session answers, and from its sweep. Each due member timer is applied in deadline order, at most one transition
//! per member per application ("Session timeouts are not stacked", same page); then the initialization stages
//! advance; then the empty check. Every commit stamps the members whose state changed ([`stamp`]) and computes the
//! session's next deadline, rendered as `nextTimer` and sent as `Expires`.
//!
//! | timer | starts | on expiry |
//! |---|---|---|
//! | `reservedRemovalTimeout` (30000) | a reservation | the reservation is removed |
//! | `readyRemovalTimeout` (180000) | the member becomes ready | the member becomes inactive (`ready: false`) |
//! | `inactiveRemovalTimeout` (0) | the member becomes inactive | the member is removed |
//! | `sessionEmptyTimeout` (0) | the last member is gone | the session (and its handles) is deleted |
//!
//! `0` is immediate and `null` infinite. Members in an initialization episode are governed by the stage timers
//! instead of the reservation and ready timeouts (DOCS `live-session-template-constants.md`).

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value};

use super::{Member, Session, system};
use crate::error::{ApiError, ApiResult};

/// The 107 defaults of the four removal timeouts, in milliseconds (DOCS `live-session-template-constants.md`).
pub(crate) const DEFAULT_RESERVED: u64 = 30_000;
pub(crate) const DEFAULT_INACTIVE: u64 = 0;
pub(crate) const DEFAULT_READY: u64 = 180_000;
pub(crate) const DEFAULT_EMPTY: u64 = 0;
/// The 107 defaults of `memberInitialization`.
const DEFAULT_JOIN: u64 = 10_000;
const DEFAULT_MEASUREMENT: u64 = 30_000;
const DEFAULT_EVALUATION: u64 = 5_000;
const DEFAULT_MEMBERS_NEEDED: u64 = 1;

/// The timeout keys of `constants.system`.
pub(crate) const TIMEOUT_KEYS: [&str; 4] = [
    "reservedRemovalTimeout",
    "inactiveRemovalTimeout",
    "readyRemovalTimeout",
    "sessionEmptyTimeout",
];

/// The four removal timeouts of a session, in milliseconds; `None` is infinite (`null`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timeouts {
    pub(crate) reserved: Option<u64>,
    pub(crate) inactive: Option<u64>,
    pub(crate) ready: Option<u64>,
    pub(crate) empty: Option<u64>,
    /// Whether one of them is stored as `null` (rendered by leaving the key out: XSAPI cannot parse `null`).
    pub(crate) any_null: bool,
}

impl Timeouts {
    /// The 107 defaults (no key written).
    pub(crate) const DEFAULT: Self = Self {
        reserved: Some(DEFAULT_RESERVED),
        inactive: Some(DEFAULT_INACTIVE),
        ready: Some(DEFAULT_READY),
        empty: Some(DEFAULT_EMPTY),
        any_null: false,
    };

    /// Reads the timeouts of `constants.system`: absent is the default, `null` infinite.
    pub(crate) fn of(system: Option<&Map<String, Value>>) -> Self {
        let mut any_null = false;
        let mut read = |key: &str, default: u64| match system.and_then(|sys| sys.get(key)) {
            None => Some(default),
            Some(Value::Null) => {
                any_null = true;
                None
            }
            Some(value) => Some(value.as_u64().unwrap_or(default)),
        };
        let reserved = read("reservedRemovalTimeout", DEFAULT_RESERVED);
        let inactive = read("inactiveRemovalTimeout", DEFAULT_INACTIVE);
        let ready = read("readyRemovalTimeout", DEFAULT_READY);
        let empty = read("sessionEmptyTimeout", DEFAULT_EMPTY);
        Self {
            reserved,
            inactive,
            ready,
            empty,
            any_null,
        }
    }
}

/// `constants.system.memberInitialization`, with the 107 defaults filled in (for evaluation only: the document
/// renders what was written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InitConfig {
    pub(crate) join: u64,
    pub(crate) measurement: u64,
    pub(crate) evaluation: u64,
    pub(crate) external: bool,
    pub(crate) needed: u64,
    /// Whether the session defines QoS (`metrics`, `measurementServerAddresses` or requirements): otherwise the
    /// `measuring` stage is skipped (DOCS `live-matchmaking-target-session.md`).
    pub(crate) measuring: bool,
}

impl InitConfig {
    /// Reads `memberInitialization` from `constants.system`; `None` when the session has none.
    pub(crate) fn of(system: Option<&Map<String, Value>>) -> Option<Self> {
        let system = system?;
        let init = system.get("memberInitialization")?.as_object()?;
        let int =
            |key: &str, default: u64| init.get(key).and_then(Value::as_u64).unwrap_or(default);
        Some(Self {
            join: int("joinTimeout", DEFAULT_JOIN),
            measurement: int("measurementTimeout", DEFAULT_MEASUREMENT),
            evaluation: int("evaluationTimeout", DEFAULT_EVALUATION),
            external: init.get("externalEvaluation").and_then(Value::as_bool) == Some(true),
            needed: int("membersNeededToStart", DEFAULT_MEMBERS_NEEDED),
            measuring: [
                "metrics",
                "measurementServerAddresses",
                "peerToPeerRequirements",
                "peerToHostRequirements",
            ]
            .iter()
            .any(|key| system.get(*key).is_some_and(|value| !value.is_null())),
        })
    }
}

/// `initializing.stage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Joining,
    Measuring,
    Evaluating,
    /// Episode 1 failed: terminal.
    Failed,
}

impl Stage {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Joining => "joining",
            Self::Measuring => "measuring",
            Self::Evaluating => "evaluating",
            Self::Failed => "failed",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        [
            Self::Joining,
            Self::Measuring,
            Self::Evaluating,
            Self::Failed,
        ]
        .into_iter()
        .find(|stage| stage.as_str().eq_ignore_ascii_case(text))
    }
}

/// The session's `initializing` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Initializing {
    pub(crate) stage: Stage,
    pub(crate) stage_start: DateTime<Utc>,
    pub(crate) episode: u32,
}

/// A member's timer state (XSAPI's `XblMultiplayerSessionMemberStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MemberState {
    Reserved,
    Inactive,
    Ready,
    Active,
}

impl Member {
    /// The member's state: reserved, else active, else ready, else inactive.
    pub(crate) fn state(&self) -> MemberState {
        if self.reserved {
            MemberState::Reserved
        } else if self.is_active() {
            MemberState::Active
        } else if self.facts.ready {
            MemberState::Ready
        } else {
            MemberState::Inactive
        }
    }
}

/// `at + millis`, saturating at chrono's range.
fn after(at: DateTime<Utc>, millis: u64) -> DateTime<Utc> {
    i64::try_from(millis)
        .ok()
        .and_then(TimeDelta::try_milliseconds)
        .and_then(|delta| at.checked_add_signed(delta))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// What a due member timer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    /// The member is removed (a reservation, or an inactive member).
    Remove,
    /// A ready member becomes inactive.
    Deactivate,
}

/// The pending member timer of `member`, if any: its deadline and effect. Members of an initialization episode
/// (the running one or the next) have no reservation or ready timer: the stage timers govern them.
fn member_timer(member: &Member, timeouts: &Timeouts) -> Option<(DateTime<Utc>, Expiry)> {
    let episode = member.episode.is_some();
    let (timeout, expiry) = match member.state() {
        MemberState::Active => return None,
        MemberState::Reserved if episode => return None,
        MemberState::Ready if episode => return None,
        MemberState::Reserved => (timeouts.reserved?, Expiry::Remove),
        MemberState::Ready => (timeouts.ready?, Expiry::Deactivate),
        MemberState::Inactive => (timeouts.inactive?, Expiry::Remove),
    };
    Some((after(member.state_since, timeout), expiry))
}

/// The deadline of the running initialization stage, if any.
fn stage_deadline(session: &Session) -> Option<DateTime<Utc>> {
    let init = session.initializing()?;
    let config = session.init_config()?;
    let timeout = match init.stage {
        Stage::Joining => config.join,
        Stage::Measuring => config.measurement,
        Stage::Evaluating => config.evaluation,
        Stage::Failed => return None,
    };
    Some(after(init.stage_start, timeout))
}

/// The earliest pending deadline of `session`: `nextTimer`.
pub(crate) fn next_deadline(session: &Session) -> Option<DateTime<Utc>> {
    let timeouts = session.timeouts();
    let members = session
        .members
        .values()
        .filter_map(|member| member_timer(member, timeouts).map(|(at, _)| at));
    let empty = session
        .empty_since
        .filter(|_| session.members.is_empty())
        .and_then(|since| timeouts.empty.map(|timeout| after(since, timeout)));
    members.chain(stage_deadline(session)).chain(empty).min()
}

/// Records what a commit changed for the timers: members whose state changed since `before` (or who are new)
/// enter it `now`; the session is empty since `now` when it just lost its last member; then `nextTimer`.
pub(crate) fn stamp(session: &mut Session, before: Option<&Session>, now: DateTime<Utc>) {
    for (index, member) in session.members.iter_mut() {
        let previous = before.and_then(|before| super::counterpart(before, *index, member));
        let changed = match previous {
            Some(previous) if Arc::ptr_eq(previous, member) => false,
            Some(previous) => previous.state() != member.state(),
            None => true,
        };
        if changed {
            Member::make_mut(member).state_since = now;
        }
    }
    if session.members.is_empty() {
        let was_empty = before.is_some_and(|before| before.members.is_empty());
        if !was_empty || session.empty_since.is_none() {
            session.empty_since = Some(now);
        }
    } else {
        session.empty_since = None;
    }
    session.next_timer = next_deadline(session);
}

/// The outcome of [`apply`].
#[derive(Debug)]
pub(crate) enum Applied {
    /// Nothing was due.
    Unchanged,
    /// The session after the due timers (not yet touched: the store advances `changeNumber` when it commits).
    Changed(Box<Session>),
    /// `sessionEmptyTimeout` expired: the session is deleted.
    Deleted,
}

/// Applies the timers of `session` that are due at `now` (see the module documentation).
pub(crate) fn apply(session: &Session, now: DateTime<Utc>) -> Applied {
    if session.next_timer.is_none_or(|at| at > now) {
        return Applied::Unchanged;
    }
    let mut next = session.clone();
    let timeouts = *next.timeouts();
    let mut due: Vec<(DateTime<Utc>, u32, Expiry)> = next
        .members
        .iter()
        .filter_map(|(index, member)| {
            member_timer(member, &timeouts)
                .filter(|(at, _)| *at <= now)
                .map(|(at, expiry)| (at, *index, expiry))
        })
        .collect();
    due.sort_by_key(|(at, index, _)| (*at, *index));
    let mut last_removal = None;
    for (at, index, expiry) in due {
        match expiry {
            Expiry::Remove => {
                if let Some(member) = next.members.remove(&index) {
                    if !member.reserved {
                        next.add_former_member(member.xuid);
                    }
                    last_removal = Some(at);
                }
            }
            Expiry::Deactivate => {
                if let Some(member) = next.members.get_mut(&index) {
                    let member = Member::make_mut(member);
                    let mut properties = member.properties().to_map();
                    if let Some(Value::Object(sys)) = properties.get_mut("system") {
                        sys.insert("ready".to_owned(), Value::Bool(false));
                    }
                    member.set_properties(&properties);
                    member.state_since = at;
                }
            }
        }
    }
    if let Some(removed) = advance_initialization(&mut next, now) {
        last_removal = last_removal.max(Some(removed));
    }
    if next.members.is_empty() {
        if next.empty_since.is_none() || !session.members.is_empty() {
            next.empty_since = Some(last_removal.unwrap_or(now));
        }
        let expired = next
            .empty_since
            .zip(timeouts.empty)
            .is_some_and(|(since, timeout)| after(since, timeout) <= now);
        if expired {
            return Applied::Deleted;
        }
    }
    next.next_timer = next_deadline(&next);
    Applied::Changed(Box::new(next))
}

// Member initialization (DOCS `live-xbox-multiplayer-session-directory.md`, "Member initialization in session
// documents" and "QoS phase and session initialization details"; `live-matchmaking-target-session.md`).

/// Whether a member's constants ask for initialization (`constants.system.initialize: true`).
fn wants_initialization(member: &Member) -> bool {
    system(&member.constants.to_map())
        .and_then(|sys| sys.get("initialize"))
        .and_then(Value::as_bool)
        == Some(true)
}

/// Enrols the members a write added: on creation, those asking for initialization form episode 1 (400 when fewer
/// than `membersNeededToStart`); later, they are marked for the next episode, which starts at once when none is
/// running. Then the stages advance as far as the write lets them (every member joined, measured, or an
/// evaluation written).
pub(crate) fn on_write(
    session: &mut Session,
    before: Option<&Session>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let Some(config) = session.init_config() else {
        return Ok(());
    };
    let new: Vec<u32> = session
        .members
        .iter()
        .filter(|(index, member)| {
            before.is_none_or(|before| super::counterpart(before, **index, member).is_none())
                && wants_initialization(member)
        })
        .map(|(index, _)| *index)
        .collect();
    if before.is_none() {
        if (new.len() as u64) < config.needed {
            return Err(ApiError::bad_request(format!(
                "This session is configured for managed initialization requiring at least {} members to start. \
                 Add them with constants.system.initialize: true in the creating request ({} found).",
                config.needed,
                new.len()
            )));
        }
        if new.is_empty() {
            // `membersNeededToStart: 0` and nobody to initialize: episode 1 is skipped.
            return Ok(());
        }
        start_episode(session, &new, now);
    } else if !new.is_empty() {
        match session.initializing() {
            Some(init) if init.stage != Stage::Failed => {
                for index in &new {
                    set_episode(session, *index, Some(init.episode + 1));
                }
            }
            _ => start_episode(session, &new, now),
        }
    }
    advance_initialization(session, now);
    Ok(())
}

fn set_episode(session: &mut Session, index: u32, episode: Option<u32>) {
    if let Some(member) = session.members.get_mut(&index)
        && member.episode != episode
    {
        Member::make_mut(member).episode = episode;
    }
}

/// Starts the next episode with `members` in the `joining` stage.
fn start_episode(session: &mut Session, members: &[u32], at: DateTime<Utc>) {
    let episode = session.episodes + 1;
    session.episodes = episode;
    for index in members {
        set_episode(session, *index, Some(episode));
    }
    session.set_initializing(Some(Initializing {
        stage: Stage::Joining,
        stage_start: at,
        episode,
    }));
}

/// The indices of the members of episode `episode`.
fn episode_members(session: &Session, episode: u32) -> Vec<u32> {
    session
        .members
        .iter()
        .filter(|(_, member)| member.episode == Some(episode))
        .map(|(index, _)| *index)
        .collect()
}

/// Whether a member uploaded its QoS measurements.
fn measured(member: &Member) -> bool {
    let properties = member.properties().to_map();
    system(&properties).is_some_and(|sys| {
        ["measurements", "serverMeasurements"]
            .iter()
            .any(|key| sys.get(*key).is_some_and(|value| !value.is_null()))
    })
}

fn fail_member(session: &mut Session, index: u32, failure: &str) {
    if let Some(member) = session.members.get_mut(&index)
        && member.failure.is_none()
    {
        Member::make_mut(member).failure = Some(failure.into());
    }
}

/// Advances the initialization stages as far as `now` and the members' state allow. Returns the latest time a
/// member was removed (reservations that never joined), if any.
pub(crate) fn advance_initialization(
    session: &mut Session,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let config = session.init_config()?;
    let mut removed = None;
    // Each pass ends one stage; an episode has at most three.
    for _ in 0..4 {
        let Some(init) = session.initializing() else {
            break;
        };
        let deadline = stage_deadline(session);
        let members = episode_members(session, init.episode);
        let timed_out = deadline.is_some_and(|at| at <= now);
        // A stage ends early once it has nothing left to wait for, at `now`; on its timeout at its deadline.
        let ends = |done: bool| {
            if done {
                Some(deadline.map_or(now, |at| at.min(now)))
            } else if timed_out {
                deadline
            } else {
                None
            }
        };
        match init.stage {
            Stage::Failed => break,
            Stage::Joining => {
                let all_joined = members.iter().all(|index| {
                    session
                        .members
                        .get(index)
                        .is_some_and(|member| !member.reserved)
                });
                let Some(at) = ends(all_joined) else { break };
                for index in &members {
                    let reserved = session.members.get(index).is_some_and(|m| m.reserved);
                    if reserved {
                        // "On timeout from joining, the reservation is removed."
                        session.members.remove(index);
                        removed = Some(at);
                    }
                }
                next_stage(session, &config, init, at, Stage::Joining);
            }
            Stage::Measuring => {
                let all_measured = members.iter().all(|index| {
                    session
                        .members
                        .get(index)
                        .is_none_or(|member| measured(member))
                });
                let Some(at) = ends(all_measured) else { break };
                for index in &members {
                    if session
                        .members
                        .get(index)
                        .is_some_and(|member| !measured(member))
                    {
                        fail_member(session, *index, "timeout");
                    }
                }
                next_stage(session, &config, init, at, Stage::Measuring);
            }
            Stage::Evaluating => {
                let decision = session
                    .property("initializationSucceeded")
                    .and_then(|value| value.as_bool());
                let Some(at) = ends(decision.is_some()) else {
                    break;
                };
                if decision != Some(true) {
                    // A failed evaluation, or none in time, fails every member that had not failed yet.
                    for index in &members {
                        fail_member(session, *index, "episode");
                    }
                }
                if decision.is_some() {
                    // "Once set, 'initializing/stage' is immediately updated, and this field is removed."
                    let mut properties = session.properties.to_map();
                    if let Some(Value::Object(sys)) = properties.get_mut("system") {
                        sys.shift_remove("initializationSucceeded");
                    }
                    session.properties = super::Bag::from_map(&properties);
                }
                finish_episode(session, &config, init, at);
            }
        }
    }
    removed
}

/// Moves from `from` to the next stage at `at`: `measuring` when the session defines QoS, `evaluating` with
/// `externalEvaluation`, else the end of the episode.
fn next_stage(
    session: &mut Session,
    config: &InitConfig,
    init: Initializing,
    at: DateTime<Utc>,
    from: Stage,
) {
    let stage = match from {
        Stage::Joining if config.measuring => Stage::Measuring,
        Stage::Joining | Stage::Measuring if config.external => Stage::Evaluating,
        _ => return finish_episode(session, config, init, at),
    };
    session.set_initializing(Some(Initializing {
        stage,
        stage_start: at,
        ..init
    }));
}

/// Ends episode `init.episode` at `at`. Episode 1 fails when fewer than `membersNeededToStart` members succeeded:
/// every member fails and the stage stays `failed`. Otherwise `initializing` goes, and the next episode starts
/// when members wait for it.
fn finish_episode(
    session: &mut Session,
    config: &InitConfig,
    init: Initializing,
    at: DateTime<Utc>,
) {
    let members = episode_members(session, init.episode);
    let succeeded = members
        .iter()
        .filter(|index| {
            session
                .members
                .get(index)
                .is_some_and(|member| member.failure.is_none())
        })
        .count() as u64;
    for index in &members {
        set_episode(session, *index, None);
    }
    if init.episode == 1 && succeeded < config.needed {
        for index in &members {
            fail_member(session, *index, "episode");
        }
        session.set_initializing(Some(Initializing {
            stage: Stage::Failed,
            stage_start: at,
            ..init
        }));
        return;
    }
    session.set_initializing(None);
    let waiting = episode_members(session, init.episode + 1);
    if !waiting.is_empty() {
        start_episode(session, &waiting, at);
    }
}
