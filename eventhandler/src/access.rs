//! Who may call which Event Handler endpoint (Java `EventHandlerAccessControlFilter`), as a pure
//! function of the caller, tested as a table. Insecure mode has no access control.

use common::identity::{require_core, require_named, require_sysop, Caller, CoreSystem};
use common::ArrowheadError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint<'a> {
    Echo,
    Mgmt,
    AuthUpdate,
    /// `subscriberSystem.systemName` of the body.
    Subscribe(Option<&'a str>),
    /// `source.systemName` of the body.
    Publish(Option<&'a str>),
    /// `system_name` of the query. (Java lets anyone unsubscribe anyone; here a system removes
    /// only its own subscriptions, and the operator any through management.)
    Unsubscribe(Option<&'a str>),
}

pub fn check(caller: &Caller, endpoint: Endpoint, url: &str) -> Result<(), ArrowheadError> {
    match endpoint {
        Endpoint::Echo => Ok(()),
        Endpoint::Mgmt => require_sysop(caller, url),
        Endpoint::AuthUpdate => require_core(caller, &[CoreSystem::Authorization], url),
        Endpoint::Subscribe(name) | Endpoint::Publish(name) | Endpoint::Unsubscribe(name) => {
            require_named(caller, name, url)
        }
    }
}

/// Who may call each documented operation, in words, for the OpenAPI document (the rules are
/// [`check`]'s).
pub fn who_may_call(method: &str, path: &str) -> Option<&'static str> {
    let op = path.strip_prefix("/eventhandler")?;
    Some(match (method, op) {
        (_, "/echo") => "any system of the cloud.",
        (_, "/subscribe") => "any system of the cloud, for itself (`subscriberSystem.systemName` must be the caller's name).",
        (_, "/unsubscribe") => "any system of the cloud, for itself (`system_name` must be the caller's name).",
        (_, "/publish") => "any system of the cloud, as itself (`source.systemName` must be the caller's name).",
        (_, "/publish/authupdate") => "the Authorization system.",
        (_, p) if p.starts_with("/mgmt") => "the sysop.",
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
            ("client", Echo, true), ("sysop", Mgmt, true), ("client", Mgmt, false), ("authorization", Mgmt, false),
            ("authorization", AuthUpdate, true), ("orchestrator", AuthUpdate, false), ("sysop", AuthUpdate, false),
            ("consumer", Subscribe(Some("Consumer")), true), ("consumer", Subscribe(Some("provider")), false),
            ("consumer", Subscribe(None), true),
            ("provider", Publish(Some("provider")), true), ("consumer", Publish(Some("provider")), false),
            ("consumer", Unsubscribe(Some("consumer")), true), ("provider", Unsubscribe(Some("consumer")), false),
        ];
        for (name, endpoint, allowed) in cases {
            let got = check(&who(name), endpoint, "u");
            assert_eq!(got.is_ok(), allowed, "{name} -> {endpoint:?}");
            if let Err(e) = got {
                assert_eq!(e.status().as_u16(), 401);
            }
        }
        assert!(check(&Caller::Insecure, Mgmt, "u").is_ok());
    }
}
