//! The admin API's request bodies on arbitrary bytes: parsing must never
//! panic, must refuse unknown fields, and what it accepts must say the same
//! thing when written back as JSON.
#![no_main]

use homeswap::{parse_body, ClearRequest, SwapRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(swap) = parse_body::<SwapRequest>(data) {
        let again = serde_json_roundtrip("to", &swap.to);
        assert_eq!(parse_body::<SwapRequest>(again.as_bytes()), Ok(swap));
    }
    if let Ok(clear) = parse_body::<ClearRequest>(data) {
        let again = serde_json_roundtrip("reason", &clear.reason);
        assert_eq!(parse_body::<ClearRequest>(again.as_bytes()), Ok(clear));
    }
});

/// `{"<key>": "<value>"}` with the value escaped by hand (the fuzz crate
/// keeps to the library's dependencies).
fn serde_json_roundtrip(key: &str, value: &str) -> String {
    let mut s = format!("{{\"{key}\":\"");
    for c in value.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c if (c as u32) < 0x20 => s.push_str(&format!("\\u{:04x}", c as u32)),
            c => s.push(c),
        }
    }
    s.push_str("\"}");
    s
}
