//! The explorer's HTML: the page layout, the sessions, handles and templates lists, and the problem page.
//! Every value goes through maud's escaping (`(value)`), so text a client wrote renders as text.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};
use serde_json::Value;

use crate::handles::Handle;
use crate::model::{SessionRef, percent_encode, timestamp};
use crate::session::Session;
use crate::templates::Template;

/// The page a navigation link leads to (marked `aria-current` when it is the current one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Nav {
    /// The sessions list (and a session's page).
    Sessions,
    /// The handles list.
    Handles,
    /// The templates list.
    Templates,
    /// None of them (a problem page).
    None,
}

/// Which development actions a page offers.
#[derive(Debug, Clone, Copy)]
pub(super) struct Actions {
    /// `--explorer-actions`.
    pub(super) enabled: bool,
    /// `--manual-clock` (the clock can be advanced).
    pub(super) manual_clock: bool,
}

/// The sessions list's filters.
#[derive(Debug, Default)]
pub(super) struct Filter {
    /// SCID (ignoring case); empty: any.
    pub(super) scid: String,
    /// Template name (ignoring case); empty: any.
    pub(super) template: String,
    /// A member's XUID.
    pub(super) xuid: Option<u64>,
}

impl Filter {
    /// Whether `session` passes the filters.
    pub(super) fn accepts(&self, session: &Session) -> bool {
        let reference = &session.reference;
        (self.scid.is_empty() || reference.scid().eq_ignore_ascii_case(&self.scid))
            && (self.template.is_empty()
                || reference
                    .template_name()
                    .eq_ignore_ascii_case(&self.template))
            && self.xuid.is_none_or(|xuid| session.has_member(xuid))
    }

    fn is_empty(&self) -> bool {
        self.scid.is_empty() && self.template.is_empty() && self.xuid.is_none()
    }
}

/// The form that advances a manual clock, back to `back`.
pub(super) fn clock_form(back: &str) -> Markup {
    html! {
        form.inline method="post" action="/explorer/actions/advance-clock" {
            input type="hidden" name="back" value=(back);
            label for="advance-seconds" { "Advance the clock by (seconds)" }
            input #advance-seconds type="number" name="seconds" min="0" value="30" required;
            button type="submit" { "Advance" }
        }
    }
}

/// The explorer URL of a session's page.
pub(super) fn session_url(reference: &SessionRef) -> String {
    format!(
        "/explorer/sessions/{}/{}/{}",
        percent_encode(reference.scid()),
        percent_encode(reference.template_name()),
        percent_encode(reference.name())
    )
}

/// A time as the documents write it.
pub(super) fn time(at: DateTime<Utc>) -> String {
    timestamp(at)
}

/// A `<time>` element of `at`.
pub(super) fn time_element(at: DateTime<Utc>) -> Markup {
    let text = time(at);
    html! { time datetime=(text) { (text) } }
}

/// A time in the future (or past) relative to `now`, e.g. `in 12.5 s` or `due 3.0 s ago`.
pub(super) fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let millis = (at - now).num_milliseconds();
    let seconds = millis.abs() as f64 / 1000.0;
    if millis >= 0 {
        format!("in {seconds:.1} s")
    } else {
        format!("due {seconds:.1} s ago")
    }
}

/// Compact JSON text of a value (for table cells).
pub(super) fn json_text(value: &Value) -> String {
    value.to_string()
}

/// The page frame: head (embedded CSS and script), skip link, navigation, the live-status line and `body`.
pub(super) fn layout(title: &str, nav: Nav, body: Markup) -> Markup {
    let link = |target: Nav, href: &str, label: &str| {
        html! {
            li {
                @if nav == target {
                    a href=(href) aria-current="page" { (label) }
                } @else {
                    a href=(href) { (label) }
                }
            }
        }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · MPSD emulator explorer" }
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/explorer/assets/explorer.css";
                script src="/explorer/assets/explorer.js" defer {}
            }
            body data-events="/explorer/events" {
                a.skip href="#main" { "Skip to content" }
                header {
                    p.brand { "MPSD emulator explorer" }
                    nav aria-label="Explorer" {
                        ul {
                            (link(Nav::Sessions, "/explorer", "Sessions"))
                            (link(Nav::Handles, "/explorer/handles", "Handles"))
                            (link(Nav::Templates, "/explorer/templates", "Templates"))
                        }
                    }
                    p #live-status { "Static page: reload to update (live updates need JavaScript)." }
                }
                main #main tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A problem page (400, 403, 404): what went wrong and a way back.
pub(super) fn problem(title: &str, message: &str) -> Markup {
    layout(
        title,
        Nav::None,
        html! {
            div #live {
                p.problem { (message) }
                p { a href="/explorer" { "Back to the sessions" } }
            }
        },
    )
}

/// The sessions list with its filter form.
/// `total` is how many matched (the list may show fewer).
pub(super) fn sessions(
    filter: &Filter,
    sessions: &[Arc<Session>],
    total: usize,
    actions: Actions,
    now: DateTime<Utc>,
) -> Markup {
    let xuid = filter.xuid.map(|xuid| xuid.to_string()).unwrap_or_default();
    layout(
        "Sessions",
        Nav::Sessions,
        html! {
            form.filters method="get" action="/explorer" role="search" aria-label="Filter sessions" {
                div {
                    label for="f-scid" { "SCID" }
                    input #f-scid type="text" name="scid" value=(filter.scid) autocomplete="off" spellcheck="false";
                }
                div {
                    label for="f-template" { "Template" }
                    input #f-template type="text" name="template" value=(filter.template) autocomplete="off" spellcheck="false";
                }
                div {
                    label for="f-xuid" { "Member XUID" }
                    input #f-xuid type="text" name="xuid" value=(xuid) inputmode="numeric" autocomplete="off";
                }
                div.buttons {
                    button type="submit" { "Filter" }
                    @if !filter.is_empty() {
                        a href="/explorer" { "Clear" }
                    }
                }
            }
            div #live {
                p.count { (total) @if total == 1 { " session" } @else { " sessions" }
                    @if !filter.is_empty() { " match the filter" }
                    @if total > sessions.len() { "; the first " (sessions.len()) " are shown: filter to narrow the list" } }
                @if sessions.is_empty() {
                    p { "No session yet. Sessions appear here as soon as a client writes one." }
                } @else {
                    (table("Sessions", None, &["Session", "SCID", "Template", "Members", "Visibility", "Join restriction", "Change", "Next timer"], html! {
                        @for session in sessions {
                            (session_row(session, now))
                        }

                    }))
                }
            }
            @if actions.enabled && actions.manual_clock {
                section aria-labelledby="h-clock" {
                    h2 #h-clock { "Manual clock" }
                    p { "Now: " (time_element(now)) }
                    (clock_form("/explorer"))
                }
            }
        },
    )
}

/// The text at `key` of a session's `related_info`, or nothing.
pub(super) fn info_text(info: &Value, key: &str) -> String {
    info.get(key)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

/// One row of the sessions list.
fn session_row(session: &Session, now: DateTime<Utc>) -> Markup {
    let info = session.related_info(false);
    let text = |key: &str| info_text(&info, key);
    let reference = &session.reference;
    html! {
        tr {
            th scope="row" { a href=(session_url(reference)) { (reference.name()) } }
            td.mono { (reference.scid()) }
            td { (reference.template_name()) }
            td.num { (session.members.len()) " / " (session.max_members()) }
            td { (text("visibility")) }
            td { (text("joinRestriction")) }
            td.num { (session.change_number) }
            td { (next_timer(session.next_timer, now)) }
        }
    }
}

/// A `nextTimer` cell: the time and how far away it is, or "none".
pub(super) fn next_timer(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Markup {
    html! {
        @match at {
            Some(at) => { (time_element(at)) " (" (relative(at, now)) ")" }
            None => { "none" }
        }
    }
}

/// A table in a labelled, keyboard-scrollable region: a header cell per column (`class` on the table element),
/// then `rows`. Every table of the explorer is one.
pub(super) fn table(label: &str, class: Option<&str>, columns: &[&str], rows: Markup) -> Markup {
    html! {
        div.table-wrap role="region" aria-label=(label) tabindex="0" {
            table class=[class] {
                thead { tr { @for column in columns { th scope="col" { (column) } } } }
                tbody { (rows) }
            }
        }
    }
}

/// `columns`, then `extra` when there is one (a column shown only with the development actions).
pub(super) fn columns<'a>(columns: &[&'a str], extra: Option<&'a str>) -> Vec<&'a str> {
    columns.iter().copied().chain(extra).collect()
}

/// The table of `handles` (every column but the session when `with_session` is false).
pub(super) fn handles_table(handles: &[Arc<Handle>], with_session: bool) -> Markup {
    html! {
        (table("Handles", None, &columns(&["Handle", "Type", "Owner", "Invited XUID", "Expiration"], with_session.then_some("Session")), html! {
            @for handle in handles {
                tr {
                    th scope="row" .mono { (handle.id) }
                    td { (handle.kind.as_str()) }
                    td.mono { (handle.creator) }
                    td.mono { @if let Some(invited) = handle.invited { (invited) } @else { "—" } }
                    td { (handle.doc.get("expiration").and_then(Value::as_str).unwrap_or("—")) }
                    @if with_session {
                        td { a href=(session_url(&handle.session)) { (handle.session.name()) } }
                    }
                }
            }

        }))
    }
}

/// The handles list.
pub(super) fn handles(handles: &[Arc<Handle>]) -> Markup {
    layout(
        "Handles",
        Nav::Handles,
        html! {
            div #live {
                p.count { (handles.len()) @if handles.len() == 1 { " handle" } @else { " handles" } }
                @if !handles.is_empty() {
                    (handles_table(handles, true))
                }
            }
        },
    )
}

/// The templates list: the `--templates` directory's templates and their documents.
pub(super) fn templates(
    dir: Option<&Path>,
    templates: &[(Option<String>, String, Arc<Template>)],
) -> Markup {
    layout(
        "Templates",
        Nav::Templates,
        html! {
            div #live {
                @match dir {
                    None => p {
                        "No --templates directory: every template name exists and is empty, so sessions get the "
                        "contract-107 defaults and their creator's constants."
                    },
                    Some(dir) => p {
                        "From " code { (dir.display()) } ": " (templates.len())
                        @if templates.len() == 1 { " template." } @else { " templates." }
                    },
                }
                @for (scid, name, template) in templates {
                    section aria-labelledby=(format!("t-{}-{name}", scid.as_deref().unwrap_or("all"))) {
                        h2 id=(format!("t-{}-{name}", scid.as_deref().unwrap_or("all"))) {
                            (name) " "
                            small { @if let Some(scid) = scid { "(SCID " (scid) ")" } @else { "(every SCID)" } }
                        }
                        pre tabindex="0" { code { (serde_json::to_string_pretty(&template.document()).unwrap_or_default()) } }
                    }
                }
            }
        },
    )
}
