//! Certificate names, system and service names, interfaces, addresses and metadata: the
//! validators and normalizers never panic, and what they accept is stable.
#![no_main]

use common::identity::SystemIdentity;
use common::names::{self, AddressPolicy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|s: &str| {
    if let Some(id) = SystemIdentity::from_cn(s) {
        // A parsed name prints back to a name that parses to the same identity.
        let again = SystemIdentity::from_cn(&id.cn()).expect("a printed CN parses");
        assert_eq!(again.cn(), id.cn());
        let _ = id.same_cloud(s);
        let _ = id.core_system();
    }
    let _ = common::identity::same_system(s, "serviceregistry");
    let _ = common::peer::is_certificate_system_label(s);
    let _ = names::validate_system_name(s);
    let _ = names::validate_service_definition(s, true);
    let _ = names::validate_service_definition(s, false);
    let i = names::normalize_interface(s);
    if names::is_valid_interface(&i, true) {
        assert_eq!(
            names::normalize_interface(&i),
            i,
            "normalizing is idempotent"
        );
    }
    for allow in [false, true] {
        let policy = AddressPolicy {
            allow_self_addressing: allow,
            allow_non_routable_addressing: allow,
        };
        if let Ok((stored, _)) = names::verify_address(s, policy) {
            let (again, _) = names::verify_address(&stored, policy).expect("stored form verifies");
            assert_eq!(again, stored);
        }
    }
    if let Some(m) = names::text_to_metadata(Some(s)) {
        let _ = names::metadata_to_text(&m);
    }
});
