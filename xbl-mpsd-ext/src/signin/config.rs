//! What to sign in to: the client ID, the endpoints, the relying party, the sandbox and the title path.

use serde::{Deserialize, Serialize};
use url::Url;

use super::error::SignInError;

/// The client ID the `xbl-mpsd` CLI uses when none is given: the Xbox Game Pass app's public client ID,
/// the default of the xal-rs crate (title ID 1016898439), with scope [`SCOPE_MBI_SSL`].
///
/// **Unconfirmed:** this ID belongs to a Microsoft title. It is used by open-source Xbox Live clients,
/// not registered for this SDK; a production tool should register its own app and pass its ID.
pub const DEFAULT_CLIENT_ID: &str = "000000004c20a908";
/// The Minecraft Bedrock (Android) client ID MinecraftAuth and MCXboxBroadcast use, with
/// [`SCOPE_MBI_SSL`]; its title path (SISU) is the one known to write MPSD sessions in production.
pub const MINECRAFT_ANDROID_CLIENT_ID: &str = "0000000048183522";
/// The scope of title (16-hex) client IDs on login.live.com.
pub const SCOPE_MBI_SSL: &str = "service::user.auth.xboxlive.com::MBI_SSL";
/// The scopes of an Entra (Azure) app registration (a UUID client ID).
pub const SCOPE_XBOXLIVE_SIGNIN: &str = "XboxLive.signin XboxLive.offline_access";
/// The relying party of MPSD and the other core Xbox Live services.
pub const DEFAULT_RELYING_PARTY: &str = "http://xboxlive.com";
/// The retail sandbox.
pub const DEFAULT_SANDBOX: &str = "RETAIL";

/// Base URLs of the sign-in services. Each request path is appended to its base, so a local mock can
/// stand in for all of them ([`Endpoints::all_at`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Endpoints {
    /// Microsoft account OAuth (`/oauth20_connect.srf`, `/oauth20_token.srf`). Default `https://login.live.com`.
    pub msa: String,
    /// User token (`/user/authenticate`). Default `https://user.auth.xboxlive.com`.
    pub user: String,
    /// XSTS (`/xsts/authorize`). Default `https://xsts.auth.xboxlive.com`.
    pub xsts: String,
    /// Device token (`/device/authenticate`). Default `https://device.auth.xboxlive.com`.
    pub device: String,
    /// SISU (`/authorize`). Default `https://sisu.xboxlive.com`.
    pub sisu: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        Self {
            msa: "https://login.live.com".to_owned(),
            user: "https://user.auth.xboxlive.com".to_owned(),
            xsts: "https://xsts.auth.xboxlive.com".to_owned(),
            device: "https://device.auth.xboxlive.com".to_owned(),
            sisu: "https://sisu.xboxlive.com".to_owned(),
        }
    }
}

impl Endpoints {
    /// Every service at one base URL, e.g. the emulator's sign-in mock (`http://127.0.0.1:PORT`).
    pub fn all_at(base: &str) -> Self {
        let base = base.trim_end_matches('/').to_owned();
        Self {
            msa: base.clone(),
            user: base.clone(),
            xsts: base.clone(),
            device: base.clone(),
            sisu: base,
        }
    }

    /// `base` + `path` as a URL; a typed error for a bad base.
    pub(crate) fn url(base: &str, path: &str) -> Result<Url, SignInError> {
        let url = Url::parse(&format!("{}{path}", base.trim_end_matches('/')))
            .map_err(|e| SignInError::Config(format!("endpoint {base:?} is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SignInError::Config(format!(
                "endpoint {base:?} must be http or https"
            )));
        }
        Ok(url)
    }

    fn check(&self) -> Result<(), SignInError> {
        for base in [&self.msa, &self.user, &self.xsts, &self.device, &self.sisu] {
            Self::url(base, "/")?;
        }
        Ok(())
    }
}

/// The prefix put before the Microsoft account access token in `RpsTicket` / SISU `AccessToken`.
///
/// **Unconfirmed** which forms the service requires: MinecraftAuth uses `t=` for title (16-hex) client
/// IDs and `d=` for Entra app IDs (UUIDs), which is what [`TicketPrefix::Auto`] does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum TicketPrefix {
    /// `d=` for a UUID client ID, `t=` otherwise.
    #[default]
    Auto,
    /// `t=`.
    T,
    /// `d=`.
    D,
    /// No prefix.
    None,
}

impl TicketPrefix {
    /// The prefix for `client_id`.
    pub fn for_client(self, client_id: &str) -> &'static str {
        match self {
            Self::T => "t=",
            Self::D => "d=",
            Self::None => "",
            Self::Auto if uuid::Uuid::try_parse(client_id).is_ok() => "d=",
            Self::Auto => "t=",
        }
    }
}

/// The title-authenticated path: a device token bound to a persisted P-256 key, then SISU authorize,
/// which yields user, title and XSTS tokens (needs a title client ID).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TitleAuth {
    /// `DeviceType` of the device token: `Android`, `iOS`, `Win32`, `Nintendo`, `PlayStation`, `Xbox`.
    /// Default `Android` (MinecraftAuth's default).
    pub device_type: String,
    /// `Version` of the device token (the OS version). Default `8.0.0`.
    pub device_version: String,
}

impl Default for TitleAuth {
    fn default() -> Self {
        Self {
            device_type: "Android".to_owned(),
            device_version: "8.0.0".to_owned(),
        }
    }
}

/// Everything that decides which tokens a sign-in produces. Stored in the token cache with them, so a
/// cached sign-in refreshes against the services it came from.
///
/// ```
/// use xbl_mpsd_ext::signin::{Endpoints, SignInConfig};
///
/// let config = SignInConfig::new("000000004c20a908")
///     .endpoints(Endpoints::all_at("http://127.0.0.1:7777"))
///     .relying_party("http://xboxlive.com");
/// assert_eq!(config.scope, "service::user.auth.xboxlive.com::MBI_SSL");
/// assert_eq!(config.sandbox, "RETAIL");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SignInConfig {
    /// The OAuth client ID.
    pub client_id: String,
    /// The OAuth scope: [`SCOPE_MBI_SSL`] for 16-hex client IDs, [`SCOPE_XBOXLIVE_SIGNIN`] for UUIDs.
    pub scope: String,
    /// Where the services are.
    pub endpoints: Endpoints,
    /// The XSTS relying party. Default [`DEFAULT_RELYING_PARTY`].
    pub relying_party: String,
    /// The sandbox. Default [`DEFAULT_SANDBOX`].
    pub sandbox: String,
    /// The `RpsTicket` prefix.
    pub ticket_prefix: TicketPrefix,
    /// `Some` for the title path (device token + SISU); `None` for user-only XSTS tokens.
    pub title: Option<TitleAuth>,
}

impl SignInConfig {
    /// The user-only path for `client_id`, with the scope its shape calls for and the default services.
    pub fn new(client_id: impl Into<String>) -> Self {
        let client_id = client_id.into();
        let scope = if uuid::Uuid::try_parse(&client_id).is_ok() {
            SCOPE_XBOXLIVE_SIGNIN
        } else {
            SCOPE_MBI_SSL
        };
        Self {
            client_id,
            scope: scope.to_owned(),
            endpoints: Endpoints::default(),
            relying_party: DEFAULT_RELYING_PARTY.to_owned(),
            sandbox: DEFAULT_SANDBOX.to_owned(),
            ticket_prefix: TicketPrefix::Auto,
            title: None,
        }
    }

    /// Sets the OAuth scope.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    /// Sets the service endpoints.
    pub fn endpoints(mut self, endpoints: Endpoints) -> Self {
        self.endpoints = endpoints;
        self
    }

    /// Sets the XSTS relying party.
    pub fn relying_party(mut self, relying_party: impl Into<String>) -> Self {
        self.relying_party = relying_party.into();
        self
    }

    /// Sets the sandbox.
    pub fn sandbox(mut self, sandbox: impl Into<String>) -> Self {
        self.sandbox = sandbox.into();
        self
    }

    /// Sets the `RpsTicket` prefix.
    pub fn ticket_prefix(mut self, prefix: TicketPrefix) -> Self {
        self.ticket_prefix = prefix;
        self
    }

    /// Uses the title path (device token + SISU) with `title`.
    pub fn title_auth(mut self, title: TitleAuth) -> Self {
        self.title = Some(title);
        self
    }

    /// Checks the values that can be checked offline.
    pub(crate) fn validate(&self) -> Result<(), SignInError> {
        let non_empty = |name: &str, value: &str| {
            if value.trim().is_empty() {
                Err(SignInError::Config(format!("{name} is empty")))
            } else {
                Ok(())
            }
        };
        non_empty("client ID", &self.client_id)?;
        non_empty("scope", &self.scope)?;
        non_empty("relying party", &self.relying_party)?;
        non_empty("sandbox", &self.sandbox)?;
        self.endpoints.check()
    }
}
