//! Certificate issuing for Arrowhead local clouds. Today: the PKI primitives and the local-cloud
//! generator behind `arrowhead-certgen`; later the Certificate Authority system signs CSRs with
//! the same primitives.

pub mod local_cloud;
pub mod pki;
