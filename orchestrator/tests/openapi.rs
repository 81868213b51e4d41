//! Every system's OpenAPI document is complete: each operation says who may call it, each
//! response is described, no Rust type names (validity itself is checked by
//! `scripts/check-openapi.sh` with a pinned validator).

#[test]
fn every_document_is_complete() {
    for (name, doc) in [
        ("serviceregistry", serviceregistry::api::openapi()),
        ("authorization", authorization::api::openapi()),
        ("orchestrator", orchestrator::api::openapi()),
        ("eventhandler", eventhandler::api::openapi()),
        (
            "certificate-authority",
            certificate_authority::api::openapi(),
        ),
    ] {
        assert_eq!(
            common::openapi::faults(&doc),
            Vec::<String>::new(),
            "{name}"
        );
    }
}
