//! The command tree — the generated operation commands next to the hand-written ones — and dispatch.

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, Command, FromArgMatches, Subcommand};
use xbl_mpsd_ext::{ContractVersion, DEFAULT_BASE_URL, MpsdClient, MpsdClientBuilder, XblToken};

use crate::activation::{self, ActivationCommand};
use crate::completions::{self, CompletionsArgs};
use crate::demo::{self, DemoArgs};
use crate::emulator::{self, EmulatorArgs};
use crate::error::CliError;
use crate::handle::{self, HandleCommand};
use crate::host::{self, HostArgs};
use crate::join::{self, JoinArgs, LeaveArgs};
use crate::login::{self, LoginArgs};
use crate::ops;
use crate::output::{self, OutputMode};
use crate::schema::{self, SchemaArgs};
use crate::sessions::{self, ActivityCommand, SessionsCommand};
use crate::validate::{self, ValidateArgs};
use crate::watch::{self, WatchArgs};

// Options of every command. (No doc comment: clap would make it the root command's about.)
#[derive(Debug, Args)]
pub struct Global {
    /// The MPSD base URL
    #[arg(long, global = true, env = "XBL_MPSD_ENDPOINT", default_value = DEFAULT_BASE_URL)]
    pub endpoint: String,
    /// The XSTS token (with the emulator: the caller's decimal XUID). Never printed. Without it, the
    /// sign-in stored by `xbl-mpsd login` is used, if any
    #[arg(long, global = true, env = "XBL_MPSD_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The sign-in token cache file [default: signin.json in the user's config directory]
    #[arg(long, global = true, env = "XBL_MPSD_TOKEN_CACHE")]
    pub token_cache: Option<std::path::PathBuf>,
    /// The user hash sent with the token (`XBL3.0 x=<user-hash>;<token>`)
    #[arg(long, global = true, env = "XBL_MPSD_USER_HASH", default_value = "-")]
    user_hash: String,
    /// The X-Xbl-Contract-Version header
    #[arg(long, global = true, default_value = "107")]
    contract_version: ContractVersion,
    /// What stdout gets: the body, or an envelope with status, ETag and Content-Location (for scripts)
    #[arg(long, global = true, value_enum, default_value_t = OutputMode::Body)]
    output: OutputMode,
    /// Print each HTTP exchange on stderr: method, path, status, duration, ETag (never the token)
    #[arg(long, short = 'v', global = true)]
    verbose: bool,
}

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

impl Global {
    /// The token as given (with the emulator, the caller's XUID).
    pub fn token_text(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The configured client: endpoint, contract version and, when a token is given, authorization.
    /// Without `--token`, the cached sign-in (if any) authorizes it.
    pub fn client(&self) -> Result<MpsdClient, CliError> {
        let token = self.token.as_deref().map(|t| (self.user_hash.as_str(), t));
        if token.is_none()
            && let Some(sign_in) = login::cached_provider(self.token_cache.as_deref())?
        {
            return self
                .builder_at(&self.endpoint, None)?
                .token_provider(sign_in)
                .build()
                .map_err(CliError::usage);
        }
        self.client_at(&self.endpoint, token)
    }

    /// A client for `endpoint` with this contract version, authorized by `(user hash, token)` if given.
    pub fn client_at(
        &self,
        endpoint: &str,
        token: Option<(&str, &str)>,
    ) -> Result<MpsdClient, CliError> {
        self.builder_at(endpoint, token)?
            .build()
            .map_err(CliError::usage)
    }

    /// The builder of [`client_at`](Self::client_at), for callers that configure more.
    pub fn builder_at(
        &self,
        endpoint: &str,
        token: Option<(&str, &str)>,
    ) -> Result<MpsdClientBuilder, CliError> {
        let mut builder = MpsdClient::builder()
            .base_url(endpoint)
            .contract_version(self.contract_version)
            .observer(output::CliObserver {
                verbose: self.verbose,
            });
        if let Some((user_hash, token)) = token {
            builder = builder.token(XblToken::new(user_hash, token).map_err(CliError::usage)?);
        }
        Ok(builder)
    }
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
        Local::Completions(args) => completions::completions(&args),
        Local::Man => completions::man(),
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
