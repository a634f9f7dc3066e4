//! Sign-in end to end against the emulator's sign-in mock on loopback: device code (pending → slow_down →
//! success), the user-only and title paths, renewal on expiry and after a 401, refresh-token rotation,
//! every documented XErr, OAuth errors, the token cache, and that no token is ever shown.
#![cfg(feature = "signin")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use xbl_mpsd_emulator::{
    Emulator, EmulatorConfig, MockEndpoint, MockFailure, MockLifetimes, PollAnswer,
    RunningEmulator, SignInMock,
};
use xbl_mpsd_ext::signin::{
    CacheError, Endpoints, SignInConfig, SignInError, TitleAuth, TokenCache, XErr, XboxSignIn,
};
use xbl_mpsd_ext::{FakeClock, MpsdClient, SessionDelta, SessionReference, TokenProvider};

struct Setup {
    emulator: RunningEmulator,
    mock: SignInMock,
    clock: Arc<FakeClock>,
    dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let mock = SignInMock::default();
    let config = EmulatorConfig {
        sign_in: mock.clone(),
        ..EmulatorConfig::default()
    };
    Setup {
        emulator: Emulator::start(config).await.unwrap(),
        mock,
        clock: Arc::new(FakeClock::new(SystemTime::now())),
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Setup {
    fn config(&self) -> SignInConfig {
        SignInConfig::new("000000004c20a908")
            .endpoints(Endpoints::all_at(&self.emulator.base_url()))
    }

    fn cache(&self) -> TokenCache {
        TokenCache::new(self.dir.path().join("signin.json"))
    }

    fn provider(&self, config: SignInConfig) -> XboxSignIn {
        XboxSignIn::builder(config)
            .cache(self.cache())
            .clock(self.clock.clone())
            .build()
            .unwrap()
    }

    fn client(&self, provider: &XboxSignIn) -> MpsdClient {
        MpsdClient::builder()
            .base_url(self.emulator.base_url())
            .token_provider(provider.clone())
            .build()
            .unwrap()
    }

    /// Every secret the mock issued must appear in none of `texts`.
    fn assert_no_secret(&self, texts: &[String]) {
        let secrets = self.mock.issued_secrets();
        assert!(!secrets.is_empty());
        for text in texts {
            for secret in &secrets {
                assert!(
                    !text.contains(secret.as_str()),
                    "a token leaked into: {text}"
                );
            }
        }
    }
}

fn session(name: &str) -> SessionReference {
    format!("/serviceconfigs/00000000-0000-0000-0000-00007a970ea1/sessionTemplates/lobby/sessions/{name}")
        .parse()
        .unwrap()
}

/// Writes a session as the signed-in user and returns the member XUIDs.
async fn join(client: &MpsdClient, xuid: u64, name: &str) -> Vec<String> {
    let outcome = client
        .write(
            session(name),
            SessionDelta::new().join(xuid.to_string().parse().unwrap()),
        )
        .send()
        .await
        .unwrap();
    outcome
        .session()
        .unwrap()
        .member_xuids()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[tokio::test]
async fn device_code_user_only_path_then_mpsd_as_that_user() {
    let s = setup().await;
    s.mock
        .set_poll_script([PollAnswer::Pending, PollAnswer::SlowDown]);
    s.mock.set_interval(1);
    let provider = s.provider(s.config());
    let mut shown = None;
    let account = provider
        .sign_in(|code| {
            shown = Some((
                code.verification_uri().to_owned(),
                code.user_code().to_owned(),
            ))
        })
        .await
        .unwrap();
    assert_eq!(
        shown,
        Some((
            "https://www.microsoft.com/link".to_owned(),
            "MOCK-CODE".to_owned()
        ))
    );
    // pending: wait the interval; slow_down: wait 5 s longer from then on.
    assert_eq!(
        s.clock.sleeps(),
        [Duration::from_secs(1), Duration::from_secs(6)]
    );
    assert_eq!(s.mock.requests(MockEndpoint::DeviceToken), 3);
    let me = s.mock.account();
    assert_eq!(account.xuid.unwrap().to_string(), me.xuid.to_string());
    assert_eq!(account.gamertag.as_deref(), Some("MockGamer"));
    assert_eq!(account.user_hash, me.user_hash);
    assert!(account.privileges.contains(&254));
    assert_eq!(
        (
            s.mock.requests(MockEndpoint::User),
            s.mock.requests(MockEndpoint::Xsts)
        ),
        (1, 1)
    );
    assert_eq!(s.mock.requests(MockEndpoint::Device), 0);

    // MPSD accepts the XSTS token as that user.
    let client = s.client(&provider);
    assert_eq!(
        join(&client, me.xuid, "user-only").await,
        [me.xuid.to_string()]
    );
    // A cached, valid token: no new request.
    assert_eq!(s.mock.requests(MockEndpoint::Xsts), 1);

    // The cache is owner-only and resumes the sign-in with no network call.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(s.cache().path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let warm = XboxSignIn::from_cache(s.cache()).unwrap().unwrap();
    assert_eq!(warm.account().await.unwrap().xuid, account.xuid);
    warm.token().await.unwrap();
    assert_eq!(s.mock.requests(MockEndpoint::Xsts), 1);

    let token = provider.token().await.unwrap();
    s.assert_no_secret(&[
        format!("{provider:?}"),
        format!("{account:?}"),
        format!("{token:?}"),
        token.to_string(),
        format!("{:?}", s.cache().load().unwrap().unwrap()),
    ]);
}

#[tokio::test]
async fn expiry_renews_xsts_then_refreshes_and_rotates_the_refresh_token() {
    let s = setup().await;
    s.mock.set_lifetimes(MockLifetimes {
        msa: Duration::from_secs(600),
        user: Duration::from_secs(3600),
        xsts: Duration::from_secs(300),
    });
    let provider = s.provider(s.config());
    provider.sign_in(|_| {}).await.unwrap();
    let first = provider.token().await.unwrap();

    // 4.5 minutes later the XSTS token is within the renewal margin: only XSTS is renewed.
    s.clock.advance(Duration::from_secs(270));
    let second = provider.token().await.unwrap();
    assert_ne!(first, second);
    assert_eq!(s.mock.requests(MockEndpoint::Xsts), 2);
    assert_eq!(s.mock.requests(MockEndpoint::User), 1);
    assert_eq!(s.mock.requests(MockEndpoint::Refresh), 0);

    // Two hours later everything but the refresh token has expired: refresh (rotating), user, XSTS.
    let before = s.mock.live_refresh_tokens();
    s.clock.advance(Duration::from_secs(7200));
    let third = provider.token().await.unwrap();
    assert_ne!(second, third);
    assert_eq!(s.mock.requests(MockEndpoint::Refresh), 1);
    assert_eq!(s.mock.requests(MockEndpoint::User), 2);
    let after = s.mock.live_refresh_tokens();
    assert_eq!(after.len(), 1);
    assert_ne!(before, after, "the refresh token rotated");

    // The cache holds the newest refresh token: a new process, later still, refreshes with it (the old
    // one would be invalid_grant).
    s.clock.advance(Duration::from_secs(7200));
    let resumed = XboxSignIn::builder(s.config())
        .cache(s.cache())
        .clock(s.clock.clone())
        .build()
        .unwrap();
    resumed.token().await.unwrap();
    assert_eq!(s.mock.requests(MockEndpoint::Refresh), 2);

    // A rejected refresh token means a new sign-in.
    s.clock.advance(Duration::from_secs(7200));
    s.mock.fail_next(
        MockEndpoint::Refresh,
        MockFailure::OAuth("invalid_grant".into()),
    );
    let err = resumed.token().await.unwrap_err().to_string();
    assert!(err.contains("sign in again"), "{err}");
}

#[tokio::test]
async fn a_401_from_mpsd_renews_the_token_once_and_retries_with_the_new_one() {
    let s = setup().await;
    let provider = s.provider(s.config());
    let account = provider.sign_in(|_| {}).await.unwrap();
    let client = s.client(&provider);
    let xuid: u64 = account.xuid.unwrap().to_string().parse().unwrap();
    join(&client, xuid, "after-401").await;
    let old = provider.token().await.unwrap();

    s.mock.revoke_xsts_tokens();
    // A read is retried after the refresh; the new token is sent and accepted.
    let read = client
        .get_session(session("after-401"))
        .send()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        read.member_xuids()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [xuid.to_string()]
    );
    assert_eq!(s.mock.requests(MockEndpoint::Xsts), 2);
    assert_ne!(provider.token().await.unwrap(), old);

    // `refresh` with a token that was already replaced does not renew again.
    let current = provider.token().await.unwrap();
    assert_eq!(provider.refresh(&old).await.unwrap(), current);
    assert_eq!(s.mock.requests(MockEndpoint::Xsts), 2);
}

#[tokio::test]
async fn title_path_device_token_sisu_and_a_persisted_proof_key() {
    let s = setup().await;
    let config = s.config().title_auth(TitleAuth::default());
    let provider = s.provider(config.clone());
    let account = provider.sign_in(|_| {}).await.unwrap();
    assert_eq!(s.mock.requests(MockEndpoint::Device), 1);
    assert_eq!(s.mock.requests(MockEndpoint::Sisu), 1);
    assert_eq!(s.mock.requests(MockEndpoint::User), 0);
    assert_eq!(s.mock.requests(MockEndpoint::Xsts), 0);
    let xuid: u64 = account.xuid.unwrap().to_string().parse().unwrap();
    assert_eq!(
        join(&s.client(&provider), xuid, "title").await,
        [xuid.to_string()]
    );

    // After a 401, XSTS is renewed from the cached user, title and device tokens.
    s.mock.revoke_xsts_tokens();
    let resumed = s.provider(config.clone());
    let client = s.client(&resumed);
    client
        .get_session(session("title"))
        .send()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.mock.requests(MockEndpoint::Xsts), 1);
    assert_eq!(s.mock.requests(MockEndpoint::Device), 1);

    // When the user token has expired, SISU runs again, signed with the persisted key: the mock verifies
    // the signature against the key the (still valid) device token is bound to.
    s.clock.advance(Duration::from_secs(15 * 24 * 3600));
    s.mock.set_lifetimes(MockLifetimes::default());
    let later = s.provider(config);
    // The device token (14 days) expired too in the client's clock, so a new one is requested with the
    // same key, then SISU.
    later.token().await.unwrap();
    assert_eq!(s.mock.requests(MockEndpoint::Sisu), 2);
    assert_eq!(s.mock.requests(MockEndpoint::Device), 2);
}

#[tokio::test]
async fn every_documented_xerr_becomes_a_typed_error_with_advice() {
    let s = setup().await;
    let provider = s.provider(s.config());
    for (code, want) in [
        (2_148_916_227u32, XErr::Banned),
        (2_148_916_229, XErr::ParentallyRestricted),
        (2_148_916_233, XErr::AccountCreationRequired),
        (2_148_916_234, XErr::TermsOfUseNotAccepted),
        (2_148_916_235, XErr::CountryNotAuthorized),
        (2_148_916_236, XErr::AgeVerificationRequired),
        (2_148_916_237, XErr::Curfew),
        (2_148_916_238, XErr::ChildNotInFamily),
        (2_148_916_243, XErr::NameChangeRequired),
        (2_148_916_246, XErr::DeviceLimitExceeded),
        (2_148_916_254, XErr::SinglePointOfPresence),
        (2_148_916_256, XErr::StaleToken(2_148_916_256)),
        (2_148_916_261, XErr::StaleToken(2_148_916_261)),
    ] {
        s.mock
            .fail_next(MockEndpoint::Xsts, MockFailure::XErr(code));
        let err = provider.sign_in(|_| {}).await.unwrap_err();
        assert_eq!(err.xerr(), Some(want), "{err}");
        let text = err.to_string();
        assert!(text.contains(want.advice()), "{text}");
        assert!(text.contains(&format!("0x{code:08X}")), "{text}");
    }
    // The user token endpoint maps them too.
    s.mock
        .fail_next(MockEndpoint::User, MockFailure::XErr(2_148_916_233));
    let err = provider.sign_in(|_| {}).await.unwrap_err();
    assert!(matches!(
        err,
        SignInError::Xbox {
            endpoint: "user",
            status: 401,
            xerr: XErr::AccountCreationRequired
        }
    ));
    assert!(err.to_string().contains("has no Xbox profile"));
}

#[tokio::test]
async fn device_code_errors_are_typed() {
    let s = setup().await;
    let provider = s.provider(s.config());
    for (error, check) in [
        (
            "expired_token",
            (|e: &SignInError| matches!(e, SignInError::DeviceCodeExpired))
                as fn(&SignInError) -> bool,
        ),
        ("access_denied", |e| matches!(e, SignInError::Declined)),
        (
            "invalid_client",
            |e| matches!(e, SignInError::OAuth { error, .. } if error == "invalid_client"),
        ),
    ] {
        s.mock
            .fail_next(MockEndpoint::DeviceToken, MockFailure::OAuth(error.into()));
        let err = provider.sign_in(|_| {}).await.unwrap_err();
        assert!(check(&err), "{error}: {err:?}");
    }
    // The code expires while the user does nothing.
    s.mock.set_poll_script(vec![PollAnswer::Pending; 2000]);
    s.mock.set_interval(5);
    let err = provider.sign_in(|_| {}).await.unwrap_err();
    assert!(matches!(err, SignInError::DeviceCodeExpired));
    assert!(err.needs_sign_in());
    // Nothing was stored by failed sign-ins.
    assert!(s.cache().load().unwrap().is_none());
    // No sign-in at all.
    let err = provider.token().await.unwrap_err().to_string();
    assert!(err.contains("not signed in"), "{err}");
}

#[tokio::test]
async fn a_corrupt_or_foreign_cache_is_an_error_and_left_untouched() {
    let s = setup().await;
    std::fs::write(s.cache().path(), "{\"some\": \"other program\"}").unwrap();
    let err = XboxSignIn::builder(s.config())
        .cache(s.cache())
        .build()
        .unwrap_err();
    assert!(
        matches!(err, SignInError::Cache(CacheError::Corrupt { .. })),
        "{err:?}"
    );
    assert!(XboxSignIn::from_cache(s.cache()).is_err());
    assert_eq!(
        std::fs::read_to_string(s.cache().path()).unwrap(),
        "{\"some\": \"other program\"}"
    );

    // A cache made for another configuration is not used (and not deleted).
    std::fs::remove_file(s.cache().path()).unwrap();
    s.provider(s.config()).sign_in(|_| {}).await.unwrap();
    let other = s.provider(
        SignInConfig::new("0000000048183522").endpoints(Endpoints::all_at(&s.emulator.base_url())),
    );
    assert!(other.xsts_token().await.unwrap_err().needs_sign_in());
    assert!(s.cache().load().unwrap().is_some());
    // Signing out removes it.
    assert!(other.sign_out().await.unwrap());
    assert!(s.cache().load().unwrap().is_none());
}

#[tokio::test]
async fn a_rejected_access_token_is_refreshed_once_before_giving_up() {
    let s = setup().await;
    s.mock.set_lifetimes(MockLifetimes {
        msa: Duration::from_secs(3600),
        user: Duration::from_secs(120),
        xsts: Duration::from_secs(120),
    });
    let provider = s.provider(s.config());
    provider.sign_in(|_| {}).await.unwrap();
    // The user and XSTS tokens are due for renewal; the access token looks valid but the service
    // no longer takes it: the provider refreshes it (rotating the refresh token) and retries once.
    s.clock.advance(Duration::from_secs(100));
    s.mock.revoke_access_tokens();
    provider.token().await.unwrap();
    assert_eq!(s.mock.requests(MockEndpoint::Refresh), 1);
    assert_eq!(s.mock.requests(MockEndpoint::User), 3);
    assert_eq!(s.mock.requests(MockEndpoint::Xsts), 2);
}

/// RTA's `/connect` accepts the same tokens as MPSD: the signed-in user's XSTS token opens the websocket and
/// subscribes (the emulator once took only its XUID shortcut there).
#[cfg(feature = "rta")]
#[tokio::test]
async fn rta_accepts_the_signed_in_users_xsts_token() {
    let s = setup().await;
    let provider = s.provider(s.config());
    provider.sign_in(|_| {}).await.unwrap();
    let client = s.client(&provider);
    let rta = client.rta().build().unwrap();
    let subscription = rta
        .subscribe(xbl_mpsd_ext::rta::CONNECTIONS_URI)
        .await
        .expect("the XSTS token opens the RTA socket and subscribes");
    assert!(!subscription.data().is_null(), "{:?}", subscription.data());
}
