//! Tests of activation parsing, its canonical URI and the lexer.

use super::lexer::{decode_component, next_special};
use super::*;
use proptest::prelude::*;

const GUID: &str = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d";
const GUID_UPPER: &str = "0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D";

fn h() -> HandleId {
    GUID.parse().unwrap()
}
fn x(v: u64) -> Xuid {
    Xuid::new(v).unwrap()
}
fn text(s: &str) -> NonEmptyString {
    NonEmptyString::new(s).unwrap()
}
fn invite(sender: Option<u64>, context: Option<&str>) -> ActivationKind {
    ActivationKind::InviteHandleAccept {
        handle: h(),
        invited: x(1234567890123456),
        sender: sender.map(x),
        context: context.map(text),
    }
}
fn join(joinee: Option<u64>) -> ActivationKind {
    ActivationKind::ActivityHandleJoin {
        handle: h(),
        joiner: x(11),
        joinee: joinee.map(x),
    }
}
fn mpa(sender: Option<u64>, connection: &str) -> ActivationKind {
    ActivationKind::InviteAccept {
        invited_user: x(21),
        sender: sender.map(x),
        connection_string: text(connection),
    }
}
fn ok(kind: ActivationKind) -> Result<Activation, ActivationError> {
    Ok(Activation {
        title_id: None,
        kind,
    })
}
fn ok_title(title: u32, kind: ActivationKind) -> Result<Activation, ActivationError> {
    Ok(Activation {
        title_id: Some(TitleId::new(title)),
        kind,
    })
}
fn missing(name: &'static str) -> Result<Activation, ActivationError> {
    Err(ActivationError::MissingParameter { name })
}
fn empty(name: &'static str) -> Result<Activation, ActivationError> {
    Err(ActivationError::EmptyParameter { name })
}
fn bad_xuid(name: &'static str, source: XuidError) -> Result<Activation, ActivationError> {
    Err(ActivationError::InvalidXuid { name, source })
}
fn not_decimal(input: &str) -> XuidError {
    XuidError::NotDecimal {
        input: input.into(),
    }
}
fn bad_handle(input: &str) -> Result<Activation, ActivationError> {
    Err(ActivationError::InvalidHandle {
        source: HandleIdError::NotAGuid {
            input: input.into(),
        },
    })
}

#[test]
fn table() {
    let inv = "ms-xbl-multiplayer://inviteHandleAccept";
    let act = "ms-xbl-multiplayer://activityHandleJoin";
    let cases: Vec<(String, Result<Activation, ActivationError>)> = vec![
        // --- valid: documented forms
        (format!("{inv}?handle={GUID}&invitedXuid=1234567890123456&senderXuid=6543210987654321&context="),
            ok(invite(Some(6543210987654321), None))),
        (format!("{inv}?handle={GUID}&invitedXuid=1234567890123456&senderXuid=6543210987654321&context=lobby%20A"),
            ok(invite(Some(6543210987654321), Some("lobby A")))),
        (format!("{act}?&handle={GUID}&joinerXuid=11&joineeXuid=12"), ok(join(Some(12)))),
        ("ms-xbl-multiplayer://inviteAccept?invitedUser=21&sender=22&connectionString=abc".into(),
            ok(mpa(Some(22), "abc"))),
        ("ms-xbl-7a970ea1://inviteAccept?invitedUser=21&sender=22&connectionString=abc".into(),
            ok_title(0x7a97_0ea1, mpa(Some(22), "abc"))),
        // --- valid: real-world variations
        (format!("ms-xbl-7a970ea1://inviteHandleAccept/?invitedXuid=1234567890123456&handle={GUID}&senderXuid=5"),
            ok_title(0x7a97_0ea1, invite(Some(5), None))),
        (format!("MS-XBL-MULTIPLAYER://INVITEHANDLEACCEPT?HANDLE={GUID}&INVITEDXUID=1234567890123456"),
            ok(invite(None, None))),
        (format!("ms-xbl-7A970EA1://inviteHandleAccept?handle={GUID}&invitedXuid=1234567890123456"),
            ok_title(0x7a97_0ea1, invite(None, None))),
        (format!("ms-xbl-1://activityhandlejoin?joinerxuid=11&handle={GUID}"), ok_title(1, join(None))),
        (format!("{inv}?handle={GUID_UPPER}&invitedXuid=1234567890123456"), ok(invite(None, None))),
        (format!("{inv}?handle={{{GUID_UPPER}}}&invitedXuid=1234567890123456"), ok(invite(None, None))),
        (format!("{inv}?handle=%7B{GUID}%7D&invitedXuid=1234567890123456"), ok(invite(None, None))),
        (format!("{inv}?handle=%30a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d&invitedXuid=%31234567890123456"),
            ok(invite(None, None))),
        (format!("{inv}?&&handle={GUID}&&invitedXuid=1234567890123456&"), ok(invite(None, None))),
        (format!("{inv}?handle={GUID}&invitedXuid=1234567890123456&context=a+b%2Bc%26d%3De"),
            ok(invite(None, Some("a b+c&d=e")))),
        (format!("{inv}?handle={GUID}&invitedXuid=1234567890123456&unknown=1&handle2=x&foo"),
            ok(invite(None, None))),
        (format!("{inv}?handle={GUID}&invitedXuid=1234567890123456&senderXuid=&context="), ok(invite(None, None))),
        (format!("{inv}?handle={GUID}&handle={GUID}&invitedXuid=1234567890123456"), ok(invite(None, None))),
        (format!("{inv}?handle={GUID}&Handle={GUID}&invitedXuid=1234567890123456"), ok(invite(None, None))),
        (format!("{inv}?handle={GUID}&invitedXuid=1234567890123456#fragment"), ok(invite(None, None))),
        (format!("{act}?handle={GUID}&joinerXuid=11&joineeXuid="), ok(join(None))),
        ("ms-xbl-multiplayer://inviteAccept/?connectionString=ip%3D1.2.3.4%3A3074&invitedUser=21".into(),
            ok(mpa(None, "ip=1.2.3.4:3074"))),
        ("ms-xbl-multiplayer://inviteAccept?invitedUser=21&sender=&connectionString=%E2%9C%93".into(),
            ok(mpa(None, "✓"))),
        // handle/xuid params of other actions are ignored
        ("ms-xbl-multiplayer://inviteAccept?invitedUser=21&connectionString=c&handle=zzz&invitedXuid=q".into(),
            ok(mpa(None, "c"))),
        // --- invalid: not a URI / scheme / title id
        ("".into(), Err(ActivationError::NotAUri { input: "".into(), source: url::ParseError::RelativeUrlWithoutBase })),
        ("ms-xbl-multiplayer//inviteHandleAccept?handle=x".into(), Err(ActivationError::NotAUri {
            input: "ms-xbl-multiplayer//inviteHandleAccept?handle=x".into(),
            source: url::ParseError::RelativeUrlWithoutBase,
        })),
        (format!("https://inviteHandleAccept?handle={GUID}&invitedXuid=1"),
            Err(ActivationError::NotXboxScheme { scheme: "https".into() })),
        (format!("ms-xbox-multiplayer://inviteHandleAccept?handle={GUID}&invitedXuid=1"),
            Err(ActivationError::NotXboxScheme { scheme: "ms-xbox-multiplayer".into() })),
        (format!("ms-xbl-123456789://inviteHandleAccept?handle={GUID}&invitedXuid=1"),
            Err(ActivationError::InvalidTitleId {
                scheme: "ms-xbl-123456789".into(),
                source: TitleIdError::NotHex { input: "123456789".into() },
            })),
        (format!("ms-xbl-7g://inviteHandleAccept?handle={GUID}&invitedXuid=1"),
            Err(ActivationError::InvalidTitleId {
                scheme: "ms-xbl-7g".into(),
                source: TitleIdError::NotHex { input: "7g".into() },
            })),
        (format!("ms-xbl-://inviteHandleAccept?handle={GUID}&invitedXuid=1"),
            Err(ActivationError::InvalidTitleId { scheme: "ms-xbl-".into(), source: TitleIdError::Empty })),
        // --- invalid: action / path
        (format!("ms-xbl-multiplayer://?handle={GUID}&invitedXuid=1"), Err(ActivationError::MissingAction)),
        (format!("ms-xbl-multiplayer:inviteHandleAccept?handle={GUID}&invitedXuid=1"), Err(ActivationError::MissingAction)),
        (format!("ms-xbl-multiplayer://inviteHandleDecline?handle={GUID}&invitedXuid=1"),
            Err(ActivationError::UnknownAction { action: "inviteHandleDecline".into() })),
        (format!("ms-xbl-multiplayer://inviteHandleAccept/extra?handle={GUID}&invitedXuid=1"),
            Err(ActivationError::UnexpectedPath { path: "/extra".into() })),
        // --- invalid: parameters
        ("ms-xbl-multiplayer://inviteHandleAccept?invitedXuid=1".into(), missing("handle")),
        ("ms-xbl-multiplayer://inviteHandleAccept".into(), missing("handle")),
        (format!("{inv}?handle=&invitedXuid=1"), empty("handle")),
        (format!("{inv}?handle={GUID}"), missing("invitedXuid")),
        (format!("{inv}?handle={GUID}&invitedXuid="), empty("invitedXuid")),
        (format!("{act}?handle={GUID}&joineeXuid=12"), missing("joinerXuid")),
        (format!("{act}?joinerXuid=11"), missing("handle")),
        ("ms-xbl-multiplayer://inviteAccept?sender=22&connectionString=c".into(), missing("invitedUser")),
        ("ms-xbl-multiplayer://inviteAccept?invitedUser=21&sender=22".into(), missing("connectionString")),
        ("ms-xbl-multiplayer://inviteAccept?invitedUser=21&connectionString=".into(), empty("connectionString")),
        (format!("{inv}?handle=00000000-0000-1234-5678&invitedXuid=1"), bad_handle("00000000-0000-1234-5678")),
        (format!("{inv}?handle={GUID}x&invitedXuid=1"), bad_handle(&format!("{GUID}x"))),
        (format!("{inv}?handle=0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d&invitedXuid=1"),
            bad_handle("0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d")),
        (format!("{inv}?handle=+{GUID}&invitedXuid=1"), bad_handle(&format!(" {GUID}"))),
        (format!("{inv}?handle={GUID}&invitedXuid=-1"), bad_xuid("invitedXuid", not_decimal("-1"))),
        (format!("{inv}?handle={GUID}&invitedXuid=+1"), bad_xuid("invitedXuid", not_decimal(" 1"))),
        (format!("{inv}?handle={GUID}&invitedXuid=0x10"), bad_xuid("invitedXuid", not_decimal("0x10"))),
        (format!("{inv}?handle={GUID}&invitedXuid=0"),
            bad_xuid("invitedXuid", XuidError::Zero { input: "0".into() })),
        (format!("{inv}?handle={GUID}&invitedXuid=18446744073709551616"),
            bad_xuid("invitedXuid", XuidError::OutOfRange { input: "18446744073709551616".into() })),
        (format!("{inv}?handle={GUID}&invitedXuid=1&senderXuid=abc"), bad_xuid("senderXuid", not_decimal("abc"))),
        (format!("{act}?handle={GUID}&joinerXuid=11&joineeXuid=1.5"), bad_xuid("joineeXuid", not_decimal("1.5"))),
        ("ms-xbl-multiplayer://inviteAccept?invitedUser=me&connectionString=c".into(),
            bad_xuid("invitedUser", not_decimal("me"))),
        (format!("{inv}?handle={GUID}&invitedXuid=1&invitedXuid=2"), Err(ActivationError::ConflictingParameter {
            name: "invitedXuid",
            first: "1".into(),
            second: "2".into(),
        })),
        (format!("{inv}?handle={GUID}&HANDLE={GUID_UPPER}&invitedXuid=1"), Err(ActivationError::ConflictingParameter {
            name: "handle",
            first: GUID.into(),
            second: GUID_UPPER.into(),
        })),
        (format!("{inv}?handle={GUID}&invitedXuid=1&context=&context=x"), Err(ActivationError::ConflictingParameter {
            name: "context",
            first: "".into(),
            second: "x".into(),
        })),
    ];
    assert!(cases.len() >= 40, "{} cases", cases.len());
    for (input, expected) in &cases {
        assert_eq!(&input.parse::<Activation>(), expected, "{input}");
        if Url::parse(input).is_ok() {
            assert_eq!(&parse_via_url(input), expected, "{input} through url::Url");
        }
    }
}

#[test]
fn error_messages_say_what_is_wrong() {
    let msg = |s: &str| s.parse::<Activation>().unwrap_err().to_string();
    assert_eq!(
        msg("ms-xbl-multiplayer://inviteHandleAccept?handle=abc&invitedXuid=1"),
        r#"parameter "handle": handle id "abc" is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, optionally in braces)"#
    );
    assert_eq!(
        msg(&format!(
            "ms-xbl-multiplayer://activityHandleJoin?handle={GUID}&joinerXuid=x1"
        )),
        r#"parameter "joinerXuid": XUID "x1" is not a decimal number (only the digits 0-9 are allowed)"#
    );
    assert_eq!(
        msg("ms-xbl-zz://inviteAccept"),
        r#"scheme "ms-xbl-zz": title id "zz" is not a 32-bit hex number (expected 1 to 8 hex digits)"#
    );
    assert_eq!(
        msg("ms-xbl-multiplayer://inviteAccept?invitedUser=1"),
        r#"required parameter "connectionString" is missing"#
    );
    assert!(msg("nope").starts_with(r#""nope" is not a URI"#));
}

#[test]
fn helpers() {
    let a: Activation =
        format!("ms-xbl-multiplayer://activityHandleJoin?handle={GUID}&joinerXuid=11")
            .parse()
            .unwrap();
    assert_eq!((a.handle(), a.joining_user()), (Some(h()), x(11)));
    let a = Activation {
        title_id: None,
        kind: mpa(None, "c"),
    };
    assert_eq!((a.handle(), a.joining_user()), (None, x(21)));
    let a = Activation {
        title_id: None,
        kind: invite(None, None),
    };
    assert_eq!(
        (a.handle(), a.joining_user()),
        (Some(h()), x(1234567890123456))
    );
    assert_eq!(NonEmptyString::new(""), None);
}

#[test]
fn canonical_uri() {
    let a = Activation {
        title_id: Some(TitleId::new(0xabc)),
        kind: invite(Some(5), Some("a b&c")),
    };
    assert_eq!(
        a.to_uri(),
        format!(
            "ms-xbl-00000abc://inviteHandleAccept?handle={GUID}&invitedXuid=1234567890123456&senderXuid=5&context=a+b%26c"
        )
    );
    assert_eq!(a.to_string(), a.to_uri());
    let j = Activation {
        title_id: None,
        kind: join(None),
    };
    assert_eq!(
        j.to_uri(),
        format!("ms-xbl-multiplayer://activityHandleJoin?handle={GUID}&joinerXuid=11")
    );
}

fn arb_xuid() -> impl Strategy<Value = Xuid> {
    (1..=u64::MAX).prop_map(x)
}
fn arb_text() -> impl Strategy<Value = NonEmptyString> {
    any::<String>().prop_filter_map("empty", NonEmptyString::new)
}
fn arb_activation() -> impl Strategy<Value = Activation> {
    let handle = any::<u128>().prop_map(|v| HandleId::new(uuid::Uuid::from_u128(v)));
    let kind = prop_oneof![
        (
            handle.clone(),
            arb_xuid(),
            proptest::option::of(arb_xuid()),
            proptest::option::of(arb_text())
        )
            .prop_map(|(handle, invited, sender, context)| {
                ActivationKind::InviteHandleAccept {
                    handle,
                    invited,
                    sender,
                    context,
                }
            }),
        (handle, arb_xuid(), proptest::option::of(arb_xuid())).prop_map(
            |(handle, joiner, joinee)| ActivationKind::ActivityHandleJoin {
                handle,
                joiner,
                joinee
            }
        ),
        (arb_xuid(), proptest::option::of(arb_xuid()), arb_text()).prop_map(
            |(invited_user, sender, connection_string)| ActivationKind::InviteAccept {
                invited_user,
                sender,
                connection_string
            }
        ),
    ];
    (
        proptest::option::of(any::<u32>().prop_map(TitleId::new)),
        kind,
    )
        .prop_map(|(title_id, kind)| Activation { title_id, kind })
}

/// The one-pass split reports exactly what `url::Url` reports, wherever it answers at all.
/// `input` parsed through `url::Url` only (the path the one-pass split falls back to).
fn parse_via_url(input: &str) -> Result<Activation, ActivationError> {
    let url = Url::parse(input).map_err(|source| ActivationError::NotAUri {
        input: input.to_owned(),
        source,
    })?;
    let parts = UriParts::of_url(&url);
    let title_id = parse_scheme(parts.scheme)?;
    let kind = parse_kind(&parts)?;
    Ok(Activation { title_id, kind })
}

fn assert_split_agrees(input: &str) -> Result<(), TestCaseError> {
    if let Some(parts) = split_plain(input) {
        let url = Url::parse(input);
        prop_assert!(
            url.is_ok(),
            "{input:?}: split, but Url::parse fails: {url:?}"
        );
        if let Ok(url) = url {
            let of_url = UriParts::of_url(&url);
            // `url` lower-cases the scheme; the split keeps it as given (compared ignoring case).
            prop_assert_eq!(
                parts.scheme.to_ascii_lowercase(),
                of_url.scheme,
                "{}",
                input
            );
            prop_assert_eq!(
                (parts.action, parts.path, parts.query),
                (of_url.action, of_url.path, of_url.query),
                "{}",
                input
            );
        }
    }
    Ok(())
}

#[test]
fn fast_split_agrees_with_url_on_edge_cases() {
    for input in [
        "ms-xbl-multiplayer://inviteHandleAccept?handle=a",
        "MS-XBL-Multiplayer://INVITEHANDLEACCEPT/?a=%22%3C&b=\"<>'`{}|^\\",
        "ms-xbl-7A970EA1://inviteAccept/#frag?x=1",
        "ms-xbl-1://a.b~c_d-e?%%3C%2%3#x#y",
        "foo+bar.baz-1://x?",
        "ms-xbl-multiplayer://inviteAccept/.?a=b",
        "ms-xbl-multiplayer://inviteAccept/./?a=b",
        "ms-xbl-multiplayer://inviteAccept:80/?a=b",
        "ms-xbl-multiplayer://u@inviteAccept/?a=b",
        "ms-xbl-multiplayer:///inviteAccept",
        "http://inviteAccept/?a=b",
        "ms-xbl-multiplayer://inviteAccept?a=b c",
    ] {
        assert_split_agrees(input).unwrap();
    }
    assert!(split_plain("ms-xbl-multiplayer://inviteHandleAccept/?handle=x#f").is_some());
}

proptest! {
    #[test]
    fn formatted_activations_parse_back_equal(a in arb_activation()) {
        prop_assert_eq!(a.to_uri().parse::<Activation>(), Ok(a));
    }

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        let _ = s.parse::<Activation>();
    }

    #[test]
    fn fast_split_agrees_with_url(
        input in "(ms-xbl-multiplayer|MS-XBL-7a970EA1|ms-xbl-|[a-zA-Z][a-zA-Z0-9+.-]{0,3}|https|[0-9_]x):(//|/|)[a-zA-Z0-9._~%:@-]{0,6}(/|/[a-z.]{1,2}|)(\\?[ -~]{0,12}|)(#[ -~]{0,4}|)"
    ) {
        assert_split_agrees(&input)?;
    }

    #[test]
    fn next_special_finds_the_first_special_byte(text in "[a-z&=%+~ -]{0,40}", from in 0usize..48) {
        let bytes = text.as_bytes();
        let expected = (from.min(bytes.len())..bytes.len())
            .find(|&i| matches!(bytes[i], b'&' | b'=' | b'%' | b'+'))
            .unwrap_or(bytes.len());
        prop_assert_eq!(next_special(bytes, from), expected);
    }

    #[test]
    fn decoding_agrees_with_form_urlencoded(raw in "[a-zA-Z0-9%+éç~ -]{0,24}") {
        let escaped = raw.contains(['+', '%']);
        let expected = form_urlencoded::parse(raw.as_bytes()).next().map(|(key, _)| key.into_owned());
        prop_assert_eq!(Some(decode_component(&raw, escaped).into_owned()).filter(|k| !k.is_empty()), expected.filter(|k| !k.is_empty()));
    }

    #[test]
    fn arbitrary_queries_never_panic(
        action in prop_oneof![
            Just("inviteHandleAccept".to_owned()),
            Just("ACTIVITYHANDLEJOIN/".to_owned()),
            Just("inviteAccept".to_owned()),
            "\\PC*",
        ],
        pieces in proptest::collection::vec(
            prop_oneof![
                Just(format!("handle={GUID}")),
                Just(format!("Handle=%7B{GUID_UPPER}%7D")),
                Just("handle=".to_owned()),
                Just("invitedXuid=1".to_owned()),
                Just("invitedUser=2".to_owned()),
                Just("joinerXuid=18446744073709551615".to_owned()),
                Just("senderXuid=0".to_owned()),
                Just("sender=3".to_owned()),
                Just("connectionString=%E2%9C%93+x".to_owned()),
                "(context|joineeXuid|[a-z]{0,3})=[a-zA-Z%0-9+{}-]{0,6}",
                "\\PC{0,6}",
            ],
            0..8,
        ),
    ) {
        let uri = format!("ms-xbl-multiplayer://{action}?{}", pieces.join("&"));
        // The one-pass parser answers exactly what the general URL parser's path answers.
        prop_assert_eq!(uri.parse::<Activation>(), parse_via_url(&uri), "{}", uri);
        if let Ok(a) = uri.parse::<Activation>() {
            // Whatever parses must format to a URI that parses back equal.
            prop_assert_eq!(a.to_uri().parse::<Activation>(), Ok(a));
        }
    }
}
