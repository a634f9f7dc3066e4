//! Activation URIs (`ms-xbl-multiplayer://…`, `ms-xbl-<titleid>://…`) as a title receives them from the
//! system: parsing never panics, and what parses writes back (`to_uri`) to a URI that parses to the same
//! activation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xbl_mpsd_ext::Activation;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(activation) = text.parse::<Activation>() else {
        return;
    };
    let uri = activation.to_uri();
    let again: Activation = match uri.parse() {
        Ok(again) => again,
        Err(e) => panic!("{text:?} parsed, but its to_uri() {uri:?} does not: {e}"),
    };
    assert_eq!(again, activation, "{text:?} → {uri:?}");
    // Display is the same URI.
    assert_eq!(activation.to_string(), uri);
});
