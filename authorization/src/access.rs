//! Who may call which Authorization endpoint (Java `AuthAccessControlFilter`), as a pure
//! function of the caller, tested as a table. Insecure mode has no access control.

use common::identity::{require_core, require_sysop, Caller, CoreSystem};
use common::ArrowheadError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Echo,
    PublicKey,
    /// Exactly `/mgmt/intracloud` (list and create).
    MgmtIntraCloud,
    /// Any other management endpoint.
    Mgmt,
    Token,
    IntraCloudCheck,
    InterCloudCheck,
    SubscriptionCheck,
}

pub fn check(caller: &Caller, endpoint: Endpoint, url: &str) -> Result<(), ArrowheadError> {
    use CoreSystem::*;
    match endpoint {
        Endpoint::Echo | Endpoint::PublicKey => Ok(()),
        Endpoint::MgmtIntraCloud => match caller {
            c if c.is_core(&[OnboardingController, Mscv]) => Ok(()),
            c => require_sysop(c, url),
        },
        Endpoint::Mgmt => require_sysop(caller, url),
        Endpoint::Token => require_core(caller, &[Orchestrator, Choreographer], url),
        Endpoint::IntraCloudCheck | Endpoint::InterCloudCheck => {
            require_core(caller, &[Orchestrator, Gatekeeper], url)
        }
        Endpoint::SubscriptionCheck => require_core(caller, &[EventHandler], url),
    }
}

/// Who may call each documented operation, in words, for the OpenAPI document (the rules are
/// [`check`]'s).
pub fn who_may_call(method: &str, path: &str) -> Option<&'static str> {
    let op = path.strip_prefix("/authorization")?;
    Some(match (method, op) {
        (_, "/echo" | "/publickey") => "any system of the cloud.",
        (_, "/mgmt/intracloud") => "the sysop, the Onboarding Controller.",
        (_, p) if p.starts_with("/mgmt") => "the sysop.",
        (_, "/token" | "/token/multi") => "the Orchestrator, the Choreographer.",
        (_, "/intracloud/check" | "/intercloud/check") => "the Orchestrator, the Gatekeeper.",
        (_, "/subscription/check") => "the Event Handler.",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::identity::SystemIdentity;

    #[test]
    fn access_matrix() {
        let who = |n: &str| {
            Caller::classify(SystemIdentity::from_cn(&format!("{n}.c.o.arrowhead.eu")).unwrap())
        };
        use Endpoint::*;
        #[rustfmt::skip]
        let cases = [
            ("client", Echo, true), ("client", PublicKey, true),
            ("sysop", MgmtIntraCloud, true), ("onboardingcontroller", MgmtIntraCloud, true), ("onboarding_controller", MgmtIntraCloud, true),
            ("mscv", MgmtIntraCloud, true), ("orchestrator", MgmtIntraCloud, false), ("client", MgmtIntraCloud, false),
            ("sysop", Mgmt, true), ("onboardingcontroller", Mgmt, false), ("client", Mgmt, false),
            ("orchestrator", Token, true), ("choreographer", Token, true), ("gatekeeper", Token, false), ("sysop", Token, false),
            ("orchestrator", IntraCloudCheck, true), ("gatekeeper", IntraCloudCheck, true), ("eventhandler", IntraCloudCheck, false),
            ("client", IntraCloudCheck, false), ("gatekeeper", InterCloudCheck, true),
            ("eventhandler", SubscriptionCheck, true), ("event_handler", SubscriptionCheck, true), ("orchestrator", SubscriptionCheck, false),
        ];
        for (name, endpoint, allowed) in cases {
            let got = check(&who(name), endpoint, "u");
            assert_eq!(got.is_ok(), allowed, "{name} -> {endpoint:?}");
            if let Err(e) = got {
                assert_eq!(e.status().as_u16(), 401);
            }
        }
        assert!(check(&Caller::Insecure, Endpoint::Mgmt, "u").is_ok());
    }
}
