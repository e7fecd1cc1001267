//! Claude Code's status JSON, read leniently: only `session_id` and
//! `rate_limits` matter, and a field of the wrong type costs that field,
//! not the whole document (the line is printed whatever arrives).

use serde::Deserialize;
use serde_json::Value;

use crate::state::usage::Window;

/// One window as the status JSON reported it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Reported {
    /// Percent used, 0..=100 (values above 100 are taken as 100).
    pub(crate) used_percentage: f64,
    /// Unix seconds the window resets, when given.
    pub(crate) resets_at: Option<u64>,
}

/// What one status update says about usage.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct StatusInput {
    /// The session, when the JSON names one.
    pub(crate) session_id: Option<String>,
    /// The windows reported (none for API-key users).
    pub(crate) windows: Vec<(Window, Reported)>,
    /// Fields that were present but unusable, one line each.
    pub(crate) problems: Vec<String>,
}

/// The top-level keys that matter; everything else is skipped unparsed.
#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    session_id: Option<Value>,
    #[serde(default)]
    rate_limits: Option<Value>,
}

impl StatusInput {
    /// Parses a status update; `Err` only when it is not a JSON object.
    pub(crate) fn parse(bytes: &[u8]) -> Result<StatusInput, String> {
        // serde would take an array as the struct's fields in order.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err("the status JSON on stdin is not a JSON object".into());
        }
        let raw: Raw = serde_json::from_slice(bytes)
            .map_err(|e| format!("the status JSON on stdin is unusable: {e}"))?;
        let mut input = StatusInput::default();
        match raw.session_id {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => input.session_id = Some(s),
            Some(other) => input
                .problems
                .push(format!("session_id is not a string: {}", kind(&other))),
        }
        match raw.rate_limits {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for w in Window::ALL {
                    match map.get(w.as_str()) {
                        None | Some(Value::Null) => {}
                        Some(v) => match window(v) {
                            Ok(r) => input.windows.push((w, r)),
                            Err(why) => input
                                .problems
                                .push(format!("rate_limits.{}: {why}", w.as_str())),
                        },
                    }
                }
            }
            Some(other) => input
                .problems
                .push(format!("rate_limits is not an object: {}", kind(&other))),
        }
        Ok(input)
    }
}

fn window(v: &Value) -> Result<Reported, String> {
    let Value::Object(map) = v else {
        return Err(format!("not an object: {}", kind(v)));
    };
    let used = map
        .get("used_percentage")
        .and_then(Value::as_f64)
        .filter(|p| p.is_finite() && *p >= 0.0)
        .ok_or_else(|| "used_percentage is not a number from 0 to 100".to_string())?;
    let resets_at = match map.get("resets_at") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .or_else(|| {
                    v.as_f64()
                        .filter(|s| s.is_finite() && *s >= 0.0 && *s < u64::MAX as f64)
                        // Whole seconds are enough for a reset time.
                        .map(|s| s as u64)
                })
                .ok_or_else(|| "resets_at is not Unix seconds".to_string())?,
        ),
    };
    Ok(Reported {
        used_percentage: used.min(100.0),
        resets_at,
    })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape Claude Code sends (../shared/CLAUDE-CODE.md).
    pub(crate) const REAL: &str = r#"{"session_id":"0b5f6a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b","transcript_path":"/home/u/.claude/projects/-w/0b5f6a4e.jsonl","cwd":"/w","model":{"id":"claude-opus-4-1","display_name":"Opus"},"workspace":{"current_dir":"/w","project_dir":"/w"},"version":"2.1.328","output_style":{"name":"default"},"cost":{"total_cost_usd":0.01,"total_duration_ms":45000,"total_api_duration_ms":2300,"total_lines_added":156,"total_lines_removed":23},"context_window":{"total_input_tokens":15234,"total_output_tokens":4521,"context_window_size":200000},"exceeds_200k_tokens":false,"rate_limits":{"five_hour":{"used_percentage":42,"resets_at":1795600000},"seven_day":{"used_percentage":13,"resets_at":1796000000}}}"#;

    #[test]
    fn the_real_shape_gives_both_windows_and_the_session() {
        let i = StatusInput::parse(REAL.as_bytes()).unwrap();
        assert_eq!(
            i.session_id.as_deref(),
            Some("0b5f6a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b")
        );
        assert_eq!(
            i.windows,
            vec![
                (
                    Window::FiveHour,
                    Reported {
                        used_percentage: 42.0,
                        resets_at: Some(1_795_600_000)
                    }
                ),
                (
                    Window::SevenDay,
                    Reported {
                        used_percentage: 13.0,
                        resets_at: Some(1_796_000_000)
                    }
                ),
            ]
        );
        assert!(i.problems.is_empty(), "{:?}", i.problems);
    }

    #[test]
    fn fractions_missing_fields_and_wrong_types_cost_only_that_field() {
        let i = StatusInput::parse(
            br#"{"session_id":7,"rate_limits":{"five_hour":{"used_percentage":42.5},"seven_day":{"used_percentage":"13","resets_at":1}}}"#,
        )
        .unwrap();
        assert_eq!(i.session_id, None);
        assert_eq!(
            i.windows,
            vec![(
                Window::FiveHour,
                Reported {
                    used_percentage: 42.5,
                    resets_at: None
                }
            )]
        );
        assert_eq!(i.problems.len(), 2, "{:?}", i.problems);
        assert!(i.problems[1].contains("rate_limits.seven_day"));
        for odd in [
            r#"{"rate_limits":{"five_hour":{"used_percentage":-1}}}"#,
            r#"{"rate_limits":{"five_hour":{"used_percentage":5,"resets_at":-3}}}"#,
            r#"{"rate_limits":{"five_hour":[1,2]}}"#,
            r#"{"rate_limits":"lots"}"#,
        ] {
            let i = StatusInput::parse(odd.as_bytes()).unwrap();
            assert!(i.windows.is_empty(), "{odd}");
            assert_eq!(i.problems.len(), 1, "{odd}");
        }
        let over = StatusInput::parse(
            br#"{"rate_limits":{"seven_day":{"used_percentage":250,"resets_at":1.9e9}}}"#,
        )
        .unwrap();
        assert_eq!(
            over.windows[0].1,
            Reported {
                used_percentage: 100.0,
                resets_at: Some(1_900_000_000)
            }
        );
    }

    #[test]
    fn no_rate_limits_is_no_usage_and_garbage_is_an_error() {
        let api_key_user = StatusInput::parse(br#"{"session_id":"s","model":{}}"#).unwrap();
        assert!(api_key_user.windows.is_empty() && api_key_user.problems.is_empty());
        for bad in [
            &b""[..],
            b"not json",
            b"[1,2]",
            b"\xff\xfe",
            b"{\"rate_limits\":",
        ] {
            assert!(StatusInput::parse(bad).is_err(), "{bad:?}");
        }
        let mut huge = br#"{"rate_limits":{"five_hour":{"used_percentage":1}},"pad":""#.to_vec();
        huge.extend(std::iter::repeat_n(b'x', 900 * 1024));
        huge.extend(b"\"}");
        assert_eq!(StatusInput::parse(&huge).unwrap().windows.len(), 1);
        let deep = "[".repeat(100_000);
        assert!(StatusInput::parse(format!("{{\"x\":{deep}").as_bytes()).is_err());
    }
}
