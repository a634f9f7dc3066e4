//! `xbl-mpsd demo`: the invite-to-join story, told with the SDK (`xbl-mpsd-ext`) one request a line.
//!
//! The lines come from an [`Observer`] on each player's client, so they are exactly the HTTP exchanges the
//! SDK made (a synchronized update's read, its lost write and its retry included).
//!
//! By default against an emulator embedded on loopback; with `--endpoint` and the real-service options
//! against MPSD itself. Every step checks what the service answered; the first surprise stops the demo
//! with exit code 1.

use std::fmt::Display;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Args;
use xbl_mpsd_api::types::{InviteProtocol, Visibility};
use xbl_mpsd_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use xbl_mpsd_ext::handles::{activities_query, activity_request, invite_request};
use xbl_mpsd_ext::{
    Activation, ActivationKind, Exchange, HandleId, Include, MpsdClient, NonEmptyString, Observer,
    Scid, Session, SessionDelta, SessionReference, SessionTarget, SessionTemplateName, TitleId,
    WriteMode, WriteOutcome, Xuid,
};

use crate::context::Global;
use crate::error::{CliError, chain};
use crate::output;

/// The demo's players and SCID on the emulator.
const EMULATOR_HOST: Xuid = xuid(2_533_274_792_693_551);
const EMULATOR_GUEST: Xuid = xuid(2_814_679_796_296_491);
const EMULATOR_SCID: &str = "00000000-0000-0000-0000-00007a5b8c9d";

/// A XUID constant, checked at compile time.
const fn xuid(value: u64) -> Xuid {
    match Xuid::new(value) {
        Some(xuid) => xuid,
        None => panic!("a XUID is not 0"),
    }
}

/// `xbl-mpsd demo …`. Without options it runs against an embedded emulator; the real-service options
/// go together, with `--endpoint`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Real service: the host's XSTS token
    #[arg(long, requires_all = ["guest_token", "host_xuid", "guest_xuid", "scid", "title_id"])]
    host_token: Option<String>,
    /// Real service: the guest's XSTS token
    #[arg(long, requires = "host_token")]
    guest_token: Option<String>,
    /// Real service: the host's user hash
    #[arg(long, default_value = "-")]
    host_user_hash: String,
    /// Real service: the guest's user hash
    #[arg(long, default_value = "-")]
    guest_user_hash: String,
    /// Real service: the host's XUID
    #[arg(long, requires = "host_token")]
    host_xuid: Option<Xuid>,
    /// Real service: the guest's XUID
    #[arg(long, requires = "host_token")]
    guest_xuid: Option<Xuid>,
    /// Real service: the title's service configuration id
    #[arg(long, requires = "host_token")]
    scid: Option<Scid>,
    /// Real service: the title id (decimal), for the invite and the activation URI
    #[arg(long, requires = "host_token")]
    title_id: Option<TitleId>,
    /// The session template
    #[arg(long, default_value = "lobby")]
    template: SessionTemplateName,
}

/// Where `--endpoint` came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// Given on the command line.
    CommandLine,
    /// From `XBL_MPSD_ENDPOINT`.
    Environment,
    /// Not given.
    Default,
}

/// Runs the demo; prints the story on stdout.
pub async fn run(args: &DemoArgs, global: &Global, endpoint: Endpoint) -> Result<(), CliError> {
    let setup = match (&args.host_token, endpoint) {
        (Some(_), Endpoint::Default) => {
            return Err(CliError::Usage(
                "demo against a real service needs --endpoint (or XBL_MPSD_ENDPOINT)".to_owned(),
            ));
        }
        (None, Endpoint::CommandLine) => {
            return Err(CliError::Usage(
                "demo --endpoint needs --host-token, --guest-token, --host-xuid, --guest-xuid, --scid and --title-id"
                    .to_owned(),
            ));
        }
        (Some(_), _) => Setup::real(args, global)?,
        (None, _) => Setup::emulator(args, global).await?,
    };
    let requests = setup.requests.clone();
    let mut story = Story::new(setup)?;
    story.tell().await?;
    output::stdout_line(&format!(
        "demo: {} requests, invite → join → sync conflict recovered → activity found → session deleted: OK",
        requests.load(Ordering::SeqCst)
    ));
    Ok(())
}

/// Prints one line per HTTP exchange of a player's client: number, player, method, path, status, ETag.
struct Transcript {
    label: &'static str,
    requests: Arc<AtomicUsize>,
}

impl Observer for Transcript {
    fn observe(&self, exchange: &Exchange<'_>) {
        let number = self.requests.fetch_add(1, Ordering::SeqCst) + 1;
        let (status, etag) = match exchange.outcome {
            Ok((status, headers)) => (
                status.as_u16().to_string(),
                headers
                    .get("etag")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-")
                    .to_owned(),
            ),
            Err(e) => (format!("failed ({e})"), "-".to_owned()),
        };
        output::stdout_line(&format!(
            "{number:>3}  {:<5} {:<6} {}  {status}  ETag {etag}",
            self.label,
            exchange.method.as_str(),
            exchange.path
        ));
    }
}

/// One player: who, and their client.
struct Party {
    xuid: Xuid,
    client: MpsdClient,
}

/// What the story runs against.
struct Setup {
    host: Party,
    guest: Party,
    scid: Scid,
    template: SessionTemplateName,
    title_id: TitleId,
    /// The requests both players made so far.
    requests: Arc<AtomicUsize>,
    /// Keeps the embedded emulator running.
    _emulator: Option<RunningEmulator>,
}

/// Where the players' clients go, and how requests are counted.
struct Players<'a> {
    global: &'a Global,
    endpoint: &'a str,
    requests: Arc<AtomicUsize>,
}

impl Players<'_> {
    fn party(
        &self,
        label: &'static str,
        xuid: Xuid,
        user_hash: &str,
        token: &str,
    ) -> Result<Party, CliError> {
        let client = self
            .global
            .builder_at(self.endpoint, Some((user_hash, token)))?
            .observer(Transcript {
                label,
                requests: self.requests.clone(),
            })
            .build()
            .map_err(CliError::usage)?;
        Ok(Party { xuid, client })
    }
}

fn missing(option: &str) -> CliError {
    CliError::Usage(format!("demo against a real service needs {option}"))
}

impl Setup {
    async fn emulator(args: &DemoArgs, global: &Global) -> Result<Self, CliError> {
        let config = EmulatorConfig::default();
        let title_id = TitleId::new(config.title_id);
        let emulator = Emulator::start(config)
            .await
            .map_err(|e| CliError::Failed(format!("the embedded emulator did not start: {e}")))?;
        let url = emulator.base_url();
        output::stdout_line(&format!("demo: embedded MPSD emulator at {url}"));
        let (host, guest) = (EMULATOR_HOST, EMULATOR_GUEST);
        let players = Players {
            global,
            endpoint: &url,
            requests: Arc::default(),
        };
        // In the emulator a caller's token is its XUID.
        Ok(Self {
            host: players.party("host", host, "-", &host.to_string())?,
            guest: players.party("guest", guest, "-", &guest.to_string())?,
            scid: EMULATOR_SCID.parse().map_err(CliError::usage)?,
            template: args.template.clone(),
            title_id,
            requests: players.requests,
            _emulator: Some(emulator),
        })
    }

    fn real(args: &DemoArgs, global: &Global) -> Result<Self, CliError> {
        let url = global.endpoint.as_str();
        output::stdout_line(&format!("demo: MPSD at {url}"));
        let host_xuid = args.host_xuid.ok_or_else(|| missing("--host-xuid"))?;
        let guest_xuid = args.guest_xuid.ok_or_else(|| missing("--guest-xuid"))?;
        let host_token = args
            .host_token
            .as_deref()
            .ok_or_else(|| missing("--host-token"))?;
        let guest_token = args
            .guest_token
            .as_deref()
            .ok_or_else(|| missing("--guest-token"))?;
        let players = Players {
            global,
            endpoint: url,
            requests: Arc::default(),
        };
        Ok(Self {
            host: players.party("host", host_xuid, &args.host_user_hash, host_token)?,
            guest: players.party("guest", guest_xuid, &args.guest_user_hash, guest_token)?,
            scid: args.scid.clone().ok_or_else(|| missing("--scid"))?,
            template: args.template.clone(),
            title_id: args.title_id.ok_or_else(|| missing("--title-id"))?,
            requests: players.requests,
            _emulator: None,
        })
    }
}

/// The story's state.
struct Story {
    setup: Setup,
    reference: SessionReference,
}

/// Which player makes a request.
#[derive(Clone, Copy)]
enum Who {
    Host,
    Guest,
}

/// A failed step.
fn failed(step: &str, why: impl Display) -> CliError {
    CliError::Failed(format!("demo failed at \"{step}\": {why}"))
}

/// A failed SDK call.
fn sdk(step: &'static str) -> impl Fn(xbl_mpsd_ext::Error) -> CliError {
    move |e| failed(step, chain(&e))
}

/// The status and session of a write outcome.
fn write_answer(outcome: &WriteOutcome) -> (&'static str, Option<&Session>) {
    match outcome {
        WriteOutcome::Created(session) => ("201", Some(session)),
        WriteOutcome::Updated(session) => ("200", Some(session)),
        WriteOutcome::OutOfSync { current, .. } => ("412", current.as_deref()),
        WriteOutcome::SessionDeleted => ("204", None),
        WriteOutcome::Accepted { session, .. } => ("2xx", session.as_deref()),
    }
}

fn custom_delta(step: &'static str, key: &str, value: &str) -> Result<SessionDelta, CliError> {
    SessionDelta::new()
        .set_custom(key, value)
        .map_err(|e| failed(step, e.to_string()))
}

fn custom_keys(session: &Session) -> Vec<String> {
    session
        .document
        .properties
        .as_ref()
        .and_then(|p| p.custom.as_ref())
        .and_then(|c| c.0.as_object())
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn expect_members(step: &str, session: &Session, count: usize) -> Result<(), CliError> {
    let members = session.member_xuids();
    if members.len() == count {
        Ok(())
    } else {
        Err(failed(
            step,
            format!("expected {count} members, the session lists {members:?}"),
        ))
    }
}

impl Story {
    fn new(setup: Setup) -> Result<Self, CliError> {
        let name = format!("demo-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let reference = SessionReference::new(
            setup.scid.clone(),
            setup.template.clone(),
            name.parse().map_err(CliError::usage)?,
        );
        Ok(Self { setup, reference })
    }

    fn party(&self, who: Who) -> &Party {
        match who {
            Who::Host => &self.setup.host,
            Who::Guest => &self.setup.guest,
        }
    }

    fn note(text: &str) {
        output::stdout_line(&format!("     {text}"));
    }

    /// A session write.
    async fn write(
        &mut self,
        step: &'static str,
        who: Who,
        target: SessionTarget,
        delta: SessionDelta,
        mode: WriteMode,
    ) -> Result<WriteOutcome, CliError> {
        let outcome = self
            .party(who)
            .client
            .write(target.clone(), delta)
            .mode(mode)
            .send()
            .await
            .map_err(sdk(step))?;
        Ok(outcome)
    }

    /// A session read by reference; the session must exist.
    async fn read(&mut self, step: &'static str, who: Who) -> Result<Session, CliError> {
        let session = self
            .party(who)
            .client
            .get_session(&self.reference)
            .send()
            .await
            .map_err(sdk(step))?;
        session.ok_or_else(|| failed(step, "the session does not exist"))
    }

    async fn tell(&mut self) -> Result<(), CliError> {
        let (host, guest) = (self.setup.host.xuid, self.setup.guest.xuid);
        let title_id = self.setup.title_id;
        let reference = self.reference.clone();

        // 1. The host creates the session by reference, as its first member.
        let step = "host creates the session";
        let create = SessionDelta::new()
            .join(host)
            .max_members(4)
            .visibility(Visibility::OPEN)
            .invite_protocol(InviteProtocol::GAME);
        let outcome = self
            .write(
                step,
                Who::Host,
                (&reference).into(),
                create,
                WriteMode::CreateNew,
            )
            .await?;
        let WriteOutcome::Created(created) = outcome else {
            return Err(failed(
                step,
                format!("expected 201 Created, got {}", write_answer(&outcome).0),
            ));
        };
        expect_members(step, &created, 1)?;

        // 2. The host invites the guest.
        let step = "host invites the guest";
        let invite = invite_request(&reference, guest, title_id, Some("demo"));
        let document = self
            .setup
            .host
            .client
            .create_handle(invite)
            .send()
            .await
            .map_err(sdk(step))?;
        let handle: HandleId = document
            .id()
            .ok_or_else(|| failed(step, "the answer has no handle id"))?;
        Self::note(&format!("invite handle {handle}"));

        // 3. The guest's title is activated with the invite; it parses the URI.
        let step = "guest parses the activation URI";
        let uri = Activation {
            title_id: Some(title_id),
            kind: ActivationKind::InviteHandleAccept {
                handle,
                invited: guest,
                sender: Some(host),
                context: NonEmptyString::new("demo"),
            },
        }
        .to_uri();
        Self::note(&format!("guest receives {uri}"));
        let activation: Activation = uri.parse().map_err(|e| failed(step, e))?;
        if activation.handle() != Some(handle) || activation.joining_user() != guest {
            return Err(failed(step, "the parsed URI names another handle or user"));
        }

        // 4. The guest joins through the handle.
        let step = "guest joins from the activation";
        let outcome = self
            .setup
            .guest
            .client
            .join_from_activation(&activation)
            .await
            .map_err(sdk(step))?;
        let WriteOutcome::Updated(joined) = outcome else {
            return Err(failed(
                step,
                format!("expected 200, got {}", write_answer(&outcome).0),
            ));
        };
        expect_members(step, &joined, 2)?;
        match joined.reference() {
            Some(found) if found.matches_ignore_case(&reference) => {
                Self::note(&format!("Content-Location names {found}"));
            }
            other => return Err(failed(step, format!("Content-Location names {other:?}"))),
        }

        // 5. Both read the session: two members, one version.
        let host_view = self.read("host reads the session", Who::Host).await?;
        expect_members("host reads the session", &host_view, 2)?;
        let guest_view = self.read("guest reads the session", Who::Guest).await?;
        expect_members("guest reads the session", &guest_view, 2)?;

        // 6. Both change it against that version; the host writes first.
        let step = "host's synchronized write";
        let outcome = self
            .write(
                step,
                Who::Host,
                (&reference).into(),
                custom_delta(step, "map", "lava")?,
                WriteMode::SynchronizedUpdate {
                    etag: host_view.etag().cloned(),
                },
            )
            .await?;
        if !matches!(outcome, WriteOutcome::Updated(_)) {
            return Err(failed(
                step,
                format!("expected 200, got {}", write_answer(&outcome).0),
            ));
        }
        let step = "guest's write with the old ETag";
        let outcome = self
            .write(
                step,
                Who::Guest,
                (&reference).into(),
                custom_delta(step, "mode", "ctf")?,
                WriteMode::SynchronizedUpdate {
                    etag: guest_view.etag().cloned(),
                },
            )
            .await?;
        if !matches!(outcome, WriteOutcome::OutOfSync { .. }) {
            return Err(failed(
                step,
                format!("expected 412, got {}", write_answer(&outcome).0),
            ));
        }
        Self::note("OutOfSync: the host wrote first; the guest retries with synchronized_update");

        // 7. The guest retries: read, change, write with the new ETag.
        let step = "guest's synchronized_update";
        let outcome = self
            .setup
            .guest
            .client
            .synchronized_update(&reference, |_| {
                std::future::ready(SessionDelta::new().set_custom("mode", "ctf"))
            })
            .send()
            .await
            .map_err(sdk(step))?
            .outcome;
        let WriteOutcome::Updated(merged) = outcome else {
            return Err(failed(
                step,
                format!("expected 200, got {}", write_answer(&outcome).0),
            ));
        };
        let keys = custom_keys(&merged);
        if !(keys.iter().any(|k| k == "map") && keys.iter().any(|k| k == "mode")) {
            return Err(failed(
                step,
                format!("a write was lost: properties.custom has {keys:?}"),
            ));
        }
        Self::note(&format!("properties.custom keeps both writes: {keys:?}"));

        // 8. The host publishes its activity; the guest finds it.
        let step = "host sets its activity";
        let document = self
            .setup
            .host
            .client
            .create_handle(activity_request(&reference))
            .send()
            .await
            .map_err(sdk(step))?;
        let activity = document.id();

        let step = "guest queries the host's activity";
        let query = activities_query(&self.setup.scid, &[host]);
        let found = self
            .setup
            .guest
            .client
            .query_handles(query)
            .include(Include::RelatedInfo)
            .send()
            .await
            .map_err(sdk(step))?;
        let handle = found
            .iter()
            .find(|h| activity.is_none() || h.id() == activity)
            .ok_or_else(|| failed(step, "the host's activity handle is not among the results"))?;
        let members = handle
            .related_info
            .as_ref()
            .and_then(|r| r.members_count.as_ref().copied());
        Self::note(&format!(
            "found activity {} (relatedInfo.membersCount {})",
            handle.id().map_or("?".to_owned(), |id| id.to_string()),
            members.map_or("?".to_owned(), |m| m.to_string())
        ));

        // 9. The guest leaves, then the host: the session is gone.
        let step = "guest leaves";
        let outcome = self
            .write(
                step,
                Who::Guest,
                (&reference).into(),
                SessionDelta::new().leave(),
                WriteMode::UpdateExisting,
            )
            .await?;
        match outcome.session() {
            Some(session) => expect_members(step, session, 1)?,
            None => {
                return Err(failed(
                    step,
                    format!("expected 200, got {}", write_answer(&outcome).0),
                ));
            }
        }
        let step = "host leaves";
        let outcome = self
            .write(
                step,
                Who::Host,
                (&reference).into(),
                SessionDelta::new().leave(),
                WriteMode::UpdateExisting,
            )
            .await?;
        if outcome != WriteOutcome::SessionDeleted {
            return Err(failed(
                step,
                format!("expected 204, got {}", write_answer(&outcome).0),
            ));
        }
        let step = "the session is gone";
        let gone = self
            .setup
            .host
            .client
            .get_session(&reference)
            .send()
            .await
            .map_err(sdk(step))?;
        if gone.is_some() {
            return Err(failed(step, "the session still exists"));
        }
        Ok(())
    }
}
