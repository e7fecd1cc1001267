//! The configuration parser on arbitrary text: it must answer every input
//! with a configuration or an error that names the file, never panic,
//! hang or accept a configuration that breaks its own rules.
#![no_main]

use std::path::Path;

use homeswap::{is_valid_account_name, Config};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = Path::new("/fuzz/homeswap.yaml");
    match Config::parse(file, text) {
        Ok(config) => {
            // What the checks promise of an accepted configuration.
            assert!(!config.accounts.is_empty());
            for (name, home) in &config.accounts {
                assert!(is_valid_account_name(name), "{name:?}");
                assert!(home.is_absolute(), "{home:?}");
            }
            assert!(config.active_link.is_absolute());
            assert!(config.state_dir.is_absolute());
            assert!(config.shared.dir().is_absolute());
        }
        Err(e) => {
            let message = e.to_string();
            assert!(message.contains("/fuzz/homeswap.yaml"), "{message}");
        }
    }
});
