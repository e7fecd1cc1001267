//! Claude Code's status JSON, read leniently: only `session_id`,
//! `transcript_path`, `rate_limits` and the per-session request counters
//! (`prompt_cache.requests`, `cost.total_api_duration_ms`) matter, and a
//! field of the wrong type costs that field, not the whole document (the
//! line is printed whatever arrives).

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::state::usage::Window;

/// One window as the status JSON reported it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Reported {
    /// Percent used, 0..=100 (values above 100 are taken as 100), never
    /// rounded up across a whole percent: `94.99999999999999` stays below
    /// 95 (see [`percent_of`]).
    pub(crate) used_percentage: f64,
    /// Unix seconds the window resets, when given.
    pub(crate) resets_at: Option<u64>,
}

/// What one status update says about usage.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct StatusInput {
    /// The session, when the JSON names one.
    pub(crate) session_id: Option<String>,
    /// The session's transcript, spelled through the active link.
    pub(crate) transcript_path: Option<std::path::PathBuf>,
    /// `prompt_cache.requests`: the session's successful requests so far.
    pub(crate) requests: Option<u64>,
    /// `cost.total_api_duration_ms`: their time, which grows with each.
    pub(crate) api_ms: Option<u64>,
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
    rate_limits: Option<Box<RawValue>>,
    #[serde(default)]
    transcript_path: Option<Value>,
    #[serde(default)]
    prompt_cache: Option<Box<RawValue>>,
    #[serde(default)]
    cost: Option<Box<RawValue>>,
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
        if let Some(Value::String(p)) = raw.transcript_path {
            input.transcript_path = Some(p.into());
        }
        input.requests = raw.prompt_cache.and_then(|r| counter(&r, "requests"));
        input.api_ms = raw.cost.and_then(|r| counter(&r, "total_api_duration_ms"));
        if let Some(limits) = raw.rate_limits {
            input.rate_limits(&limits);
        }
        Ok(input)
    }
}

/// The whole-number field `key` of the object `raw`, if it is one
/// (Claude Code writes the counters as integers).
fn counter(raw: &RawValue, key: &str) -> Option<u64> {
    let map = serde_json::from_str::<RawObject>(raw.get()).ok()?;
    serde_json::from_str::<u64>(map.get(key)?.get()).ok()
}

/// A JSON object whose values are kept as written.
type RawObject = std::collections::HashMap<String, Box<RawValue>>;

impl StatusInput {
    /// Reads `rate_limits`: each window present, or a problem line.
    fn rate_limits(&mut self, raw: &RawValue) {
        let Ok(map) = serde_json::from_str::<RawObject>(raw.get()) else {
            let v: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
            if !v.is_null() {
                self.problems
                    .push(format!("rate_limits is not an object: {}", kind(&v)));
            }
            return;
        };
        for w in Window::ALL {
            let Some(raw) = map.get(w.as_str()).filter(|r| r.get() != "null") else {
                continue;
            };
            match window(raw) {
                Ok(r) => self.windows.push((w, r)),
                Err(why) => self
                    .problems
                    .push(format!("rate_limits.{}: {why}", w.as_str())),
            }
        }
    }
}

/// A percent from its JSON text: the nearest double, unless that rounded
/// it up to the next whole percent (`94.99999999999999`, or more nines
/// than a double holds, would read as 95 and meet a threshold of 95): then
/// the double just below. `-0` is 0. `None` for a negative or non-finite
/// number, or no number at all.
pub(crate) fn percent_of(text: &str) -> Option<f64> {
    let text = text.trim();
    // serde's grammar check; the value itself comes from the std parser,
    // which rounds correctly.
    serde_json::from_str::<f64>(text).ok()?;
    let mut v: f64 = text.parse().ok()?;
    if !v.is_finite() || v < 0.0 {
        return None;
    }
    if v == 0.0 {
        return Some(0.0); // and not -0.0, shown as "-0%"
    }
    if let Some(floor) = decimal_floor(text) {
        if v.floor() > floor as f64 {
            // v is the whole number above the exact value: one step down.
            v = f64::from_bits(v.to_bits() - 1);
        }
    }
    Some(v)
}

/// The whole part of a non-negative JSON number, read from its digits
/// (`9.4999e1` → 94); `None` when it is beyond any percent (or negative
/// and not zero: refused anyway).
fn decimal_floor(text: &str) -> Option<u64> {
    if text.starts_with('-') {
        return None;
    }
    let (mantissa, exp) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i64>().ok()?),
        None => (text, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: Vec<u8> = int.bytes().chain(frac.bytes()).collect();
    let point = i64::try_from(int.len()).ok()?.checked_add(exp)?;
    if point <= 0 {
        return Some(0);
    }
    let mut whole: u64 = 0;
    for i in 0..point {
        let d = digits
            .get(usize::try_from(i).ok()?)
            .copied()
            .unwrap_or(b'0');
        whole = whole.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        if whole > 1_000_000 {
            return None;
        }
    }
    Some(whole)
}

fn window(raw: &RawValue) -> Result<Reported, String> {
    let v: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
    let (Value::Object(map), Ok(text)) = (&v, serde_json::from_str::<RawObject>(raw.get())) else {
        return Err(format!("not an object: {}", kind(&v)));
    };
    let used = text
        .get("used_percentage")
        .and_then(|t| percent_of(t.get()))
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
    pub(crate) const REAL: &str = r#"{"session_id":"0b5f6a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b","transcript_path":"/home/u/.claude/projects/-w/0b5f6a4e.jsonl","cwd":"/w","model":{"id":"claude-opus-4-1","display_name":"Opus"},"workspace":{"current_dir":"/w","project_dir":"/w"},"version":"2.1.328","output_style":{"name":"default"},"cost":{"total_cost_usd":0.01,"total_duration_ms":45000,"total_api_duration_ms":2300,"total_lines_added":156,"total_lines_removed":23},"context_window":{"total_input_tokens":15234,"total_output_tokens":4521,"context_window_size":200000},"exceeds_200k_tokens":false,"prompt_cache":{"requests":3,"misses":1,"hit_ratio":0.66,"warm":true},"prompt_id":"p","rate_limits":{"five_hour":{"used_percentage":42,"resets_at":1795600000},"seven_day":{"used_percentage":13,"resets_at":1796000000}}}"#;

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
        assert_eq!(
            i.transcript_path.as_deref(),
            Some(std::path::Path::new(
                "/home/u/.claude/projects/-w/0b5f6a4e.jsonl"
            ))
        );
        assert_eq!((i.requests, i.api_ms), (Some(3), Some(2300)));
        // Before any request: no counter, and odd ones are no counter.
        let none = StatusInput::parse(
            br#"{"prompt_cache":{"requests":null},"cost":{"total_api_duration_ms":-4},"transcript_path":7}"#,
        )
        .unwrap();
        assert_eq!(
            (none.requests, none.api_ms, none.transcript_path),
            (None, None, None)
        );
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
    fn a_percent_is_never_rounded_up_to_the_next_whole_one() {
        for (text, floor) in [
            ("94.99999999999999", 94.0),
            ("94.999999999999999999999", 94.0),
            ("9.4999999999999999999e1", 94.0),
            ("9499.999999999999999999e-2", 94.0),
            ("95", 95.0),
            ("95.0", 95.0),
            ("0.95e2", 95.0),
            ("42.7", 42.0),
            ("100", 100.0),
        ] {
            let p = percent_of(text).unwrap();
            assert_eq!(p.floor(), floor, "{text}: {p}");
        }
        assert!(percent_of("-0").unwrap().is_sign_positive());
        assert!(percent_of("-0.0").unwrap().is_sign_positive());
        for bad in ["-1", "-0.5", "\"5\"", "true", "1e400", "NaN", ""] {
            assert_eq!(percent_of(bad), None, "{bad}");
        }
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
