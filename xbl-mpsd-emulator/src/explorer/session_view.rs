//! A session's page: overview, members, properties and constants, handles, RTA subscribers, recent changes
//! (each a JSON diff computed here, at render time), the raw-JSON link and — when enabled — the actions.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use maud::{Markup, html};
use serde_json::Value;

use crate::handles::Handle;
use crate::rta::RtaControl;
use crate::session::timers::{MemberState, Stage};
use crate::session::{Member, Session, system};
use crate::store::{ChangeRecord, Inspected};

use super::diff::{Difference, diff};
use super::views::{
    Actions, Nav, clock_form, columns, handles_table, info_text, json_text, layout, next_timer,
    session_url, table, time_element,
};

/// How many differences one history entry lists.
const DIFF_LIMIT: usize = 40;

/// A member's state as the page names it.
fn status(member: &Member) -> &'static str {
    match member.state() {
        MemberState::Reserved => "reserved",
        MemberState::Inactive => "inactive",
        MemberState::Ready => "ready",
        MemberState::Active => "active",
    }
}

/// A member's initialization state: the episode it takes part in and the session's stage, or its failure.
fn initialization(session: &Session, member: &Member) -> String {
    if let Some(failure) = &member.failure {
        return format!("failed: {failure}");
    }
    match (member.episode, session.initializing()) {
        (Some(episode), Some(init)) if init.episode == episode && init.stage != Stage::Failed => {
            format!("episode {episode}: {}", init.stage.as_str())
        }
        (Some(episode), Some(init)) if init.stage == Stage::Failed => {
            format!("episode {episode}: failed")
        }
        (Some(episode), _) => format!("episode {episode}: done"),
        (None, _) => "—".to_owned(),
    }
}

/// `bag.<section>` of a property bag, as compact JSON (`{}` when absent).
fn section(bag: &serde_json::Map<String, Value>, name: &str) -> String {
    bag.get(name).map_or_else(|| "{}".to_owned(), json_text)
}

/// The document of each snapshot, rendered once (a history's neighbours share snapshots).
#[derive(Default)]
struct Documents(HashMap<*const Session, Value>);

impl Documents {
    fn of(&mut self, session: Option<&Arc<Session>>) -> Value {
        match session {
            None => Value::Null,
            Some(session) => self
                .0
                .entry(Arc::as_ptr(session))
                .or_insert_with(|| session.render(107, 0))
                .clone(),
        }
    }
}

/// The session's page.
pub(super) fn session(
    data: &Inspected,
    handles: &[Arc<Handle>],
    rta: &RtaControl,
    actions: Actions,
    now: DateTime<Utc>,
) -> Markup {
    let session = &data.session;
    let reference = &session.reference;
    let url = session_url(reference);
    let info = session.related_info(false);
    let text = |key: &str| info_text(&info, key);
    let properties = session.properties.to_map();
    let constants = session.constants().to_map();
    let session_fields = html! {
        input type="hidden" name="scid" value=(reference.scid());
        input type="hidden" name="template" value=(reference.template_name());
        input type="hidden" name="name" value=(reference.name());
    };
    let body = html! {
        p.links {
            a href=(format!("{url}/raw")) { "Raw JSON" }
            " · " a href="/explorer" { "All sessions" }
        }
        div #live {
            section aria-labelledby="h-overview" {
                h2 #h-overview { "Overview" }
                dl.overview {
                    dt { "SCID" } dd.mono { (reference.scid()) }
                    dt { "Template" } dd { (reference.template_name()) }
                    dt { "Name" } dd { (reference.name()) }
                    dt { "Members" } dd { (session.members.len()) " / " (session.max_members()) }
                    dt { "Visibility" } dd { (text("visibility")) }
                    dt { "Join restriction" } dd { (text("joinRestriction")) }
                    dt { "Closed" } dd { (session.is_closed()) }
                    dt { "Change number" } dd { (session.change_number) }
                    dt { "ETag" } dd.mono { (session.etag) }
                    dt { "Started" } dd { (time_element(session.start_time)) }
                    dt { "Next timer" } dd { (next_timer(session.next_timer, now)) }
                    dt { "Correlation ID" } dd.mono { (session.correlation_id) }
                    @if let Some(init) = session.initializing() {
                        dt { "Initializing" } dd { "episode " (init.episode) ": " (init.stage.as_str()) }
                    }
                }
            }
            section aria-labelledby="h-members" {
                h2 #h-members { "Members" }
                @if session.members.is_empty() {
                    p { "No members." }
                } @else {
                    (table("Members", None, &columns(&["Index", "XUID", "Status", "Joined", "Custom properties", "Initialization"], actions.enabled.then_some("Actions")), html! {
                        @for (index, member) in session.members.iter() {
                            tr {
                                td.num { (index) }
                                th scope="row" .mono { (member.xuid) }
                                td { span class=(format!("status {}", status(member))) { (status(member)) } }
                                td { (time_element(member.join_time)) }
                                td { code { (section(&member.properties().to_map(), "custom")) } }
                                td { (initialization(session, member)) }
                                @if actions.enabled {
                                    td {
                                        form method="post" action="/explorer/actions/remove-member" {
                                            (session_fields)
                                            input type="hidden" name="xuid" value=(member.xuid);
                                            button type="submit" id=(format!("remove-{}", member.xuid))
                                                aria-label=(format!("Remove member {}", member.xuid)) { "Remove" }
                                        }
                                    }
                                }
                            }
                        }

                    }))
                }
            }
            section aria-labelledby="h-properties" {
                h2 #h-properties { "Properties and constants" }
                dl.json {
                    dt { "properties.system" } dd { code { (section(&properties, "system")) } }
                    dt { "properties.custom" } dd { code { (section(&properties, "custom")) } }
                    dt { "constants.system" } dd { code { (section(&constants, "system")) } }
                    dt { "constants.custom" } dd { code { (section(&constants, "custom")) } }
                }
            }
            section aria-labelledby="h-handles" {
                h2 #h-handles { "Handles" }
                @if handles.is_empty() { p { "No handle points at this session." } }
                @else { (handles_table(handles, false)) }
            }
            (subscribers(session, rta, actions, session_fields.clone()))
            (history(data))
        }
        @if actions.enabled {
            section aria-labelledby="h-actions" {
                h2 #h-actions { "Development actions" }
                form method="post" action="/explorer/actions/delete-session" {
                    (session_fields)
                    button type="submit" id="delete-session" { "Delete this session" }
                }
                @if actions.manual_clock {
                    (clock_form(&url))
                }
            }
        }
    };
    layout(reference.name(), Nav::Sessions, body)
}

/// The members holding an RTA ConnectionId: whether its socket is open, and what they subscribed to.
fn subscribers(session: &Session, rta: &RtaControl, actions: Actions, fields: Markup) -> Markup {
    let rows: Vec<(u64, String, bool, String)> = session
        .members
        .values()
        .filter_map(|member| {
            let connection = member.connection()?.to_owned();
            let properties = member.properties().to_map();
            let change_types = system(&properties)
                .and_then(|sys| sys.get("subscription"))
                .and_then(|sub| sub.get("changeTypes"))
                .map_or_else(|| "—".to_owned(), json_text);
            let connected = rta.is_connected(&connection);
            Some((member.xuid, connection, connected, change_types))
        })
        .collect();
    html! {
        section aria-labelledby="h-rta" {
            h2 #h-rta { "RTA subscribers" }
            @if rows.is_empty() {
                p { "No member holds an RTA connection." }
            } @else {
                (table("RTA subscribers", None, &columns(&["XUID", "ConnectionId", "Socket", "Change types"], actions.enabled.then_some("Actions")), html! {
                    @for (xuid, connection, connected, change_types) in &rows {
                        tr {
                            th scope="row" .mono { (xuid) }
                            td.mono { (connection) }
                            td { @if *connected { "open" } @else { "closed" } }
                            td { code { (change_types) } }
                            @if actions.enabled {
                                td {
                                    @if *connected {
                                        form method="post" action="/explorer/actions/disconnect" {
                                            (fields)
                                            input type="hidden" name="connection" value=(connection);
                                            button type="submit" aria-label=(format!("Drop the RTA connection of {xuid}")) { "Drop connection" }
                                        }
                                    }
                                }
                            }
                        }
                    }

                }))
            }
        }
    }
}

/// The recent changes, newest first, each with its differences; the creation last when the history reaches
/// back to it (the created version is change 1).
fn history(data: &Inspected) -> Markup {
    let records = &data.history;
    let session = &data.session;
    let created = records.last().map_or(session.change_number == 1, |oldest| {
        oldest
            .before
            .as_ref()
            .is_some_and(|first| first.change_number == 1)
    });
    let mut documents = Documents::default();
    html! {
        section aria-labelledby="h-history" {
            h2 #h-history { "Recent changes" }
            @if records.is_empty() && !created {
                p { "No change recorded since the emulator started (a restored session starts without history)." }
            } @else {
                (table("Recent changes", Some("history"), &["Change", "Time", "Writer", "What changed"], html! {
                    @for record in records {
                        @let (differences, more) = match (&record.before, &record.after) {
                            (Some(_), Some(_)) => diff(
                                &documents.of(record.before.as_ref()),
                                &documents.of(record.after.as_ref()),
                                DIFF_LIMIT,
                            ),
                            _ => (Vec::new(), 0),
                        };
                        tr {
                            th scope="row" .num {
                                @match &record.after {
                                    Some(after) => { (after.change_number) }
                                    None => { "deleted" }
                                }
                            }
                            td { (time_element(record.at)) }
                            td { (record.writer.to_string()) }
                            td { (differences_list(record, &differences, more)) }
                        }
                    }
                    @if created {
                        tr {
                            th scope="row" .num { "1" }
                            td { (time_element(session.start_time)) }
                            td { @if let Some(creator) = data.creator { "XUID " (creator) } @else { "—" } }
                            td { p.created { "session created" } }
                        }
                    }

                }))
            }
        }
    }
}

/// A change's differences as a list (a created or deleted session says so instead).
fn differences_list(record: &ChangeRecord, differences: &[Difference], more: usize) -> Markup {
    html! {
        @if record.before.is_none() {
            p.created { "session created" }
        } @else if record.after.is_none() {
            p.removed { "session deleted" }
        } @else if differences.is_empty() {
            p { "no difference in the document" }
        } @else {
            ul.diff {
                @for difference in differences {
                    li {
                        code.path { (difference.path) }
                        " "
                        @match (&difference.before, &difference.after) {
                            (None, Some(after)) => { span.added { "+ " code { (json_text(after)) } } }
                            (Some(before), None) => { span.removed { "− " code { (json_text(before)) } } }
                            (Some(before), Some(after)) => {
                                span.removed { code { (json_text(before)) } } " → " span.added { code { (json_text(after)) } }
                            }
                            (None, None) => {}
                        }
                    }
                }
                @if more > 0 { li { "… and " (more) " more" } }
            }
        }
    }
}
