//! The command tree — the generated operation commands next to the hand-written ones — and dispatch.

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, Command, FromArgMatches, Subcommand};

use crate::activation::{self, ActivationCommand};
use crate::completions::{self, CompletionsArgs};
use crate::context::Global;
use crate::demo::{self, DemoArgs};
use crate::emulator::{self, EmulatorArgs};
use crate::error::CliError;
use crate::handle::{self, HandleCommand};
use crate::host::{self, HostArgs};
use crate::join::{self, JoinArgs, LeaveArgs};
use crate::login::{self, LoginArgs};
use crate::ops;
use crate::output;
use crate::schema::{self, SchemaArgs};
use crate::sessions::{self, ActivityCommand, SessionsCommand};
use crate::validate::{self, ValidateArgs};
use crate::watch::{self, WatchArgs};

/// The ids of the [`Global`] options, for the commands they do not apply to.
const GLOBAL_IDS: [&str; 6] = [
    "endpoint",
    "token",
    "user_hash",
    "contract_version",
    "output",
    "verbose",
];

/// The local commands that send no request: the [`Global`] options are hidden there and refused.
const OFFLINE: [&str; 6] = [
    "activation",
    "validate",
    "schema",
    "completions",
    "man",
    "emulator",
];

/// Hides and refuses the connection options on a command that sends no request.
fn without_globals(mut command: Command) -> Command {
    for id in GLOBAL_IDS {
        let long = id.replace('_', "-");
        let refuse = move |_: &str| -> Result<String, String> {
            Err(format!(
                "--{long} does not apply to this command (it sends no request)"
            ))
        };
        command = command.arg(
            clap::Arg::new(id)
                .long(id.replace('_', "-"))
                .hide(true)
                .num_args(0..=1)
                .value_parser(refuse),
        );
    }
    command
}

// The hand-written commands. (No doc comment: clap would make it the root command's about.)
#[derive(Debug, Subcommand)]
enum Local {
    /// Invite and join activation URIs
    #[command(subcommand)]
    Activation(ActivationCommand),
    /// Typed handle commands: invite, activity, search, transfer, get, delete, query
    #[command(subcommand)]
    Handle(HandleCommand),
    /// Find sessions by player or keyword
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Your activity: clear it
    #[command(subcommand)]
    Activity(ActivityCommand),
    /// Join the session of an activation URI (an accepted invite or a friend's activity)
    Join(JoinArgs),
    /// Leave a session (by reference or through a handle)
    Leave(LeaveArgs),
    /// Check that a file is a valid document, as the service would (unknown keys, values, ranges)
    Validate(ValidateArgs),
    /// Print the JSON Schema of a document type
    Schema(SchemaArgs),
    /// Print a shell completion script
    Completions(CompletionsArgs),
    /// Print the man page (roff)
    Man,
    /// Run a local MPSD emulator until Ctrl-C
    Emulator(EmulatorArgs),
    /// Invite → join → synchronized update → activity → leave, against an embedded emulator (or a real service)
    Demo(DemoArgs),
    /// Print session-change taps (or game invites) over Real-Time Activity, one JSON line each
    Watch(WatchArgs),
    /// Keep a session published (host, activity and invite handles, RTA) and print one JSON line per event
    /// until Ctrl-C, then close it
    Host(HostArgs),
    /// Sign in to Xbox Live (device code: prints a URL and a code, waits) and store the sign-in
    Login(LoginArgs),
    /// Forget the stored sign-in (deletes the token cache)
    Logout,
    /// Show the signed-in user: XUID, gamertag, user hash, token expiry (never the token)
    Whoami,
}

const AFTER_HELP: &str = "\
Operation commands send one request: the JSON answer goes to stdout, the status, ETag and \
Content-Location to stderr (--output envelope: all of it as one JSON object on stdout).

Exit codes: 0 success (2xx, or 304); 1 HTTP error status, transport failure, invalid document \
or failed demo step; 2 usage or input error (bad option, unreadable or malformed JSON file, bad URI); \
3 no such session (204 on a read).";

/// The `xbl-mpsd` command tree.
pub fn command() -> Command {
    let root = Command::new("xbl-mpsd")
        .version(env!("CARGO_PKG_VERSION"))
        .about(
            "The Xbox Live Multiplayer Session Directory (MPSD) handle API from the command line",
        )
        .after_help(AFTER_HELP)
        .subcommand_required(true)
        .arg_required_else_help(true);
    let root = Global::augment_args(root).subcommands(ops::commands());
    let mut root = Local::augment_subcommands(root);
    for name in OFFLINE {
        root = root.mut_subcommand(name, without_globals);
    }
    root
}

/// Runs the command `matches` holds.
pub async fn run(matches: &ArgMatches) -> Result<(), CliError> {
    let global = Global::from_arg_matches(matches).map_err(CliError::usage)?;
    output::set_mode(global.output);
    let Some((name, sub)) = matches.subcommand() else {
        return Err(CliError::Usage("no command given; see --help".to_owned()));
    };
    if let Some(cmd) = ops::find(name) {
        return ops::run(cmd, &global.client()?, sub).await;
    }
    match Local::from_arg_matches(matches).map_err(CliError::usage)? {
        Local::Activation(command) => activation::run(&command),
        Local::Handle(command) => handle::run(&command, &global.client()?).await,
        Local::Sessions(command) => sessions::run_sessions(&command, &global.client()?).await,
        Local::Activity(command) => {
            sessions::run_activity(
                &command,
                &global.client()?,
                global.token_text(),
                global.token_cache.as_deref(),
            )
            .await
        }
        Local::Join(args) => join::join(&args, &global.client()?).await,
        Local::Leave(args) => join::leave(&args, &global.client()?).await,
        Local::Validate(args) => validate::run(&args),
        Local::Schema(args) => schema::run(&args),
        Local::Completions(args) => completions::completions(&args, command()),
        Local::Man => completions::man(command()),
        Local::Emulator(args) => emulator::run(&args).await,
        Local::Watch(args) => watch::run(&args, &global).await,
        Local::Host(args) => host::run(&args, &global).await,
        Local::Login(args) => login::login(&args, global.token_cache.as_deref()).await,
        Local::Logout => login::logout(global.token_cache.as_deref()),
        Local::Whoami => login::whoami(global.token_cache.as_deref()),
        Local::Demo(args) => {
            let endpoint = match matches.value_source("endpoint") {
                Some(ValueSource::CommandLine) => demo::Endpoint::CommandLine,
                Some(ValueSource::EnvVariable) => demo::Endpoint::Environment,
                _ => demo::Endpoint::Default,
            };
            demo::run(&args, &global, endpoint).await
        }
    }
}
