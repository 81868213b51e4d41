//! Who may call which Device Registry endpoint (Java `DeviceRegistryAccessControlFilter`), as a
//! pure function of the caller, tested as a table. Insecure mode has no access control. Java
//! lets `/echo`, `/onboarding` and `/unregister` through without checking that the caller is of
//! this cloud; here every caller is (the TLS layer and the identity rule already ensure it).

use common::identity::{require_sysop, Caller};
use common::ArrowheadError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// Echo, register, unregister, query, onboarding: any system of the cloud.
    Client,
    Mgmt,
}

pub fn check(caller: &Caller, endpoint: Endpoint, url: &str) -> Result<(), ArrowheadError> {
    match endpoint {
        Endpoint::Client => Ok(()),
        Endpoint::Mgmt => require_sysop(caller, url),
    }
}

/// Who may call each documented operation, in words, for the OpenAPI document.
pub fn who_may_call(_method: &str, path: &str) -> Option<&'static str> {
    let op = path.strip_prefix("/deviceregistry")?;
    Some(if op.starts_with("/mgmt") {
        "the sysop."
    } else {
        "any system of the cloud."
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::identity::SystemIdentity;

    #[test]
    fn access_matrix() {
        let caller = |name: &str| {
            Caller::classify(
                SystemIdentity::from_cn(&format!("{name}.testcloud.aitia.arrowhead.eu"))
                    .unwrap_or_else(|| panic!("{name}")),
            )
        };
        for (name, endpoint, allowed) in [
            ("client", Endpoint::Client, true),
            ("client", Endpoint::Mgmt, false),
            ("onboardingcontroller", Endpoint::Mgmt, false),
            ("sysop", Endpoint::Mgmt, true),
            ("sys0p", Endpoint::Mgmt, false),
        ] {
            assert_eq!(
                check(&caller(name), endpoint, "/x").is_ok(),
                allowed,
                "{name} {endpoint:?}"
            );
        }
        assert!(check(&Caller::Insecure, Endpoint::Mgmt, "/x").is_ok());
    }
}
