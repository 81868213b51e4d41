//! `application.properties` text: parsing and the typed getters never panic.
#![no_main]

use common::config::Properties;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let p = Properties::parse(text).with_env(std::iter::empty());
    for key in [
        "server.port",
        "a",
        "sr_port",
        "spring.datasource.url",
        "x.y-z",
    ] {
        let _ = p.get(key);
        let _ = p.parse_or::<u16>(key, 1);
        let _ = p.parse_or::<i64>(key, 1);
        let _ = p.bool_or(key, false);
        let _ = p.duration_or(key, 1, common::config::SECONDS);
        let _ = p.count_or(key, 1, 0, 100);
        let _ = p.path(key);
    }
    if let Some(url) = p.get("spring.datasource.url") {
        let _ = common::config::DatabaseSettings::from_jdbc(&url, "u", "p");
    }
    let _ = p.unknown_keys();
});
