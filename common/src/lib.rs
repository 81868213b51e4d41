//! Shared foundation of the Arrowhead core systems: configuration, the error model, TLS and
//! identities, name validation, DTOs, the database, the HTTP server plumbing and the
//! core-to-core client. Every system crate is a thin layer of endpoints on top of this.

pub mod alloc;
pub mod certify;
pub mod client;
pub mod config;
pub mod core_services;
pub mod db;
pub mod dblog;
pub mod device_api;
pub mod dto;
pub mod error;
pub mod events;
pub mod https;
pub mod identity;
pub mod listener;
pub mod logfile;
pub mod names;
pub mod net;
pub mod openapi;
pub mod peer;
pub mod registration;
pub mod relay;
pub mod revocation;
pub mod startup;
pub mod tls;
pub mod token;
pub mod web;

pub use error::{ArrowheadError, ArrowheadResult, ExceptionType};
