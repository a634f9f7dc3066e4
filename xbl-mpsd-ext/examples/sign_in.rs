//! Sign in to Xbox Live with a device code, then join a session as the signed-in user.
//!
//! By default it runs offline: an embedded emulator serves both the sign-in mock and MPSD.
//!
//! ```text
//! cargo run -p xbl-mpsd-ext --features signin --example sign_in
//! # Against the real services (prints a code to enter at https://www.microsoft.com/link):
//! XBL_SIGNIN_REAL=1 XBL_CLIENT_ID=<your app's client ID> XBL_SCID=<scid> \
//!   cargo run -p xbl-mpsd-ext --features signin --example sign_in
//! ```

use xbl_mpsd_ext::signin::{DEFAULT_CLIENT_ID, Endpoints, SignInConfig, TokenCache, XboxSignIn};
use xbl_mpsd_ext::{DEFAULT_BASE_URL, MpsdClient, SessionDelta, SessionReference};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let real = std::env::var_os("XBL_SIGNIN_REAL").is_some();
    let client_id = std::env::var("XBL_CLIENT_ID").unwrap_or_else(|_| DEFAULT_CLIENT_ID.to_owned());
    let dir = tempfile::tempdir()?;
    let cache = TokenCache::new(dir.path().join("signin.json"));

    // Offline: the emulator stands in for login.live.com, the Xbox auth services and MPSD.
    let emulator = if real {
        None
    } else {
        Some(xbl_mpsd_emulator::Emulator::start(Default::default()).await?)
    };
    let (config, mpsd) = match &emulator {
        Some(emulator) => (
            SignInConfig::new(client_id).endpoints(Endpoints::all_at(&emulator.base_url())),
            emulator.base_url(),
        ),
        None => (SignInConfig::new(client_id), DEFAULT_BASE_URL.to_owned()),
    };

    let sign_in = XboxSignIn::builder(config).cache(cache).build()?;
    let account = sign_in
        .sign_in(|code| {
            println!(
                "To sign in, open {} and enter the code {}",
                code.verification_uri(),
                code.user_code()
            );
        })
        .await?;
    let xuid = account.xuid.ok_or("the XSTS token has no XUID claim")?;
    println!(
        "Signed in as {} (XUID {xuid}), token valid until {}",
        account.gamertag.as_deref().unwrap_or("?"),
        account.expires
    );

    let scid = std::env::var("XBL_SCID").unwrap_or_else(|_| "MockScid".to_owned());
    let session: SessionReference =
        format!("/serviceconfigs/{scid}/sessionTemplates/lobby/sessions/sign-in-example")
            .parse()?;
    let client = MpsdClient::builder()
        .base_url(mpsd)
        .token_provider(sign_in)
        .build()?;
    let outcome = client
        .write(&session, SessionDelta::new().join(xuid))
        .send()
        .await?;
    let members = outcome
        .session()
        .map(|s| s.member_xuids())
        .unwrap_or_default();
    println!("joined {session}; members: {members:?}");
    Ok(())
}
