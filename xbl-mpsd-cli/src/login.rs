//! `xbl-mpsd login`, `logout` and `whoami`: Xbox Live sign-in with the device-code flow, kept in the token
//! cache, which every other command uses when no `--token` is given. No command prints a token.

use std::path::Path;

use chrono::Utc;
use clap::{Args, ValueEnum};
use xbl_mpsd_ext::signin::{
    DEFAULT_CLIENT_ID, DEFAULT_RELYING_PARTY, DEFAULT_SANDBOX, Endpoints, SignInConfig,
    TicketPrefix, TitleAuth, TokenCache, XboxSignIn,
};

use crate::error::{CliError, chain};
use crate::output;

/// `xbl-mpsd login …`
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Base URL of every sign-in service (Microsoft account, user, device, SISU, XSTS), e.g. the
    /// emulator's URL; default: the real services
    #[arg(long, env = "XBL_MPSD_AUTH_ENDPOINT")]
    auth_endpoint: Option<String>,
    /// The OAuth client ID (the default is a Microsoft title's public client ID; register your own app
    /// for production)
    #[arg(long, env = "XBL_MPSD_CLIENT_ID", default_value = DEFAULT_CLIENT_ID)]
    client_id: String,
    /// The OAuth scope [default: MBI_SSL for 16-hex client IDs, XboxLive.signin for app (UUID) IDs]
    #[arg(long)]
    scope: Option<String>,
    /// Title-authenticated sign-in: a device token and SISU authorize (needs a title client ID)
    #[arg(long)]
    title: bool,
    /// Device type of the device token (with --title)
    #[arg(long, default_value = "Android", requires = "title")]
    device_type: String,
    /// The XSTS relying party
    #[arg(long, default_value = DEFAULT_RELYING_PARTY)]
    relying_party: String,
    /// The sandbox
    #[arg(long, default_value = DEFAULT_SANDBOX)]
    sandbox: String,
    /// Prefix of the access token in the user-token request
    #[arg(long, value_enum, default_value_t = Prefix::Auto)]
    ticket_prefix: Prefix,
}

/// `--ticket-prefix`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Prefix {
    /// `d=` for app (UUID) client IDs, `t=` otherwise
    Auto,
    /// `t=`
    T,
    /// `d=`
    D,
    /// none
    None,
}

/// The cache at `path`, or at the default location.
pub fn cache(path: Option<&Path>) -> Result<TokenCache, CliError> {
    match path {
        Some(path) => Ok(TokenCache::new(path)),
        None => TokenCache::at_default_path().map_err(CliError::usage),
    }
}

/// The cached sign-in, if there is one (the cache file exists).
pub fn cached_provider(path: Option<&Path>) -> Result<Option<XboxSignIn>, CliError> {
    let cache = match path {
        Some(path) => TokenCache::new(path),
        // No home directory: no cached sign-in, as before sign-in existed.
        None => match TokenCache::at_default_path() {
            Ok(cache) => cache,
            Err(_) => return Ok(None),
        },
    };
    XboxSignIn::from_cache(cache).map_err(|e| CliError::Usage(chain(&e)))
}

/// Signs in and stores the sign-in.
pub async fn login(args: &LoginArgs, cache_path: Option<&Path>) -> Result<(), CliError> {
    let cache = cache(cache_path)?;
    let mut config = SignInConfig::new(&args.client_id)
        .relying_party(&args.relying_party)
        .sandbox(&args.sandbox)
        .ticket_prefix(match args.ticket_prefix {
            Prefix::Auto => TicketPrefix::Auto,
            Prefix::T => TicketPrefix::T,
            Prefix::D => TicketPrefix::D,
            Prefix::None => TicketPrefix::None,
        });
    if let Some(base) = &args.auth_endpoint {
        config = config.endpoints(Endpoints::all_at(base));
    }
    if let Some(scope) = &args.scope {
        config = config.scope(scope);
    }
    if args.title {
        let mut title = TitleAuth::default();
        title.device_type.clone_from(&args.device_type);
        config = config.title_auth(title);
    }
    let sign_in = XboxSignIn::builder(config)
        .cache(cache.clone())
        .build()
        .map_err(|e| CliError::Usage(chain(&e)))?;
    let account = sign_in
        .sign_in(|code| {
            output::stderr_line(&format!(
                "To sign in, open {} and enter the code {} (it expires at {}).",
                code.verification_uri(),
                code.user_code(),
                code.expires_at().to_rfc3339()
            ));
            output::stderr_line("Waiting for the sign-in to complete…");
        })
        .await
        .map_err(|e| CliError::Failed(chain(&e)))?;
    let who = account.gamertag.as_deref().unwrap_or("(no gamertag)");
    let xuid = account
        .xuid
        .map_or_else(|| "none".to_owned(), |x| x.to_string());
    output::stdout_line(&format!(
        "Signed in as {who} (XUID {xuid}); sign-in stored in {}",
        cache.path().display()
    ));
    Ok(())
}

/// Forgets the sign-in.
pub fn logout(cache_path: Option<&Path>) -> Result<(), CliError> {
    let cache = cache(cache_path)?;
    let removed = cache.remove().map_err(|e| CliError::Failed(chain(&e)))?;
    output::stdout_line(&if removed {
        format!("Signed out; removed {}", cache.path().display())
    } else {
        format!("Not signed in (no {})", cache.path().display())
    });
    Ok(())
}

/// Shows who is signed in: XUID, gamertag, user hash, expiry; never a token.
pub fn whoami(cache_path: Option<&Path>) -> Result<(), CliError> {
    let cache = cache(cache_path)?;
    let stored = cache
        .load()
        .map_err(|e| CliError::Failed(chain(&e)))?
        .ok_or_else(|| {
            CliError::Failed(format!(
                "not signed in (no {}); run `xbl-mpsd login`",
                cache.path().display()
            ))
        })?;
    let account = stored.account().ok_or_else(|| {
        CliError::Failed("the stored sign-in has no Xbox Live token; run `xbl-mpsd login`".into())
    })?;
    let or_none = |v: Option<String>| v.unwrap_or_else(|| "(none)".to_owned());
    let expires = if account.expires > Utc::now() {
        account.expires.to_rfc3339()
    } else {
        format!(
            "{} (expired; renewed on next use)",
            account.expires.to_rfc3339()
        )
    };
    let lines = [
        format!("xuid: {}", or_none(account.xuid.map(|x| x.to_string()))),
        format!("gamertag: {}", or_none(account.gamertag)),
        format!("user hash: {}", account.user_hash),
        format!("age group: {}", or_none(account.age_group)),
        format!("token expires: {expires}"),
        format!(
            "sign-in: {} via {} (client ID {}, relying party {})",
            if stored.config.title.is_some() {
                "title (device + SISU)"
            } else {
                "user-only"
            },
            stored.config.endpoints.msa,
            stored.config.client_id,
            stored.config.relying_party
        ),
        format!("cache: {}", cache.path().display()),
    ];
    for line in lines {
        output::stdout_line(&line);
    }
    Ok(())
}
