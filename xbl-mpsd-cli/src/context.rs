//! The options every command shares ([`Global`]: endpoint, token, contract version, output) and the clients
//! they configure. Commands take a `Global`; the command tree (`cli`) builds it.

use clap::Args;
use xbl_mpsd_ext::{ContractVersion, DEFAULT_BASE_URL, MpsdClient, MpsdClientBuilder, XblToken};

use crate::error::CliError;
use crate::login;
use crate::output::{self, OutputMode};

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
    pub(crate) output: OutputMode,
    /// Print each HTTP exchange on stderr: method, path, status, duration, ETag (never the token)
    #[arg(long, short = 'v', global = true)]
    verbose: bool,
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
