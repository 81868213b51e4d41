//! Relay envelopes and authorization tokens (JWS in JWE) from outside: opening and verifying
//! arbitrary text never panics and never succeeds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use openssl::pkey::{PKey, Private};
use std::sync::OnceLock;

fn key() -> &'static PKey<Private> {
    static KEY: OnceLock<PKey<Private>> = OnceLock::new();
    KEY.get_or_init(|| PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap())
}

fuzz_target!(|text: &str| {
    let own = key();
    let public = PKey::public_key_from_der(&own.public_key_to_der().unwrap()).unwrap();
    let c = common::relay::envelope::Cryptographer::new(own).unwrap();
    assert!(c.open(text, &public).is_err(), "forged envelope opened");
    assert!(
        common::token::verify(text, own, &public, "consumer", std::time::SystemTime::now())
            .is_err()
    );
    let _ = common::token::public_key_from_base64(text);
});
