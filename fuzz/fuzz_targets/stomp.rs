//! STOMP frames from the relay broker: the decoder never panics and always makes progress.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    loop {
        let before = buf.len();
        match common::relay::stomp::decode(&mut buf) {
            Ok(Some(_)) => assert!(buf.len() < before, "a decoded item consumes input"),
            Ok(None) | Err(_) => break,
        }
    }
});
