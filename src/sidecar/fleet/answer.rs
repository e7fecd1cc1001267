//! One answer of the Prometheus HTTP API to an instant query, read
//! defensively: whatever comes back (an HTTP error page, Prometheus's own
//! error object, JSON of another shape, a matrix instead of a vector) is an
//! error that says what came, on one line; what does parse is a list of
//! samples with the three labels the view needs. Values are not judged
//! here (`build` drops NaN and out-of-range ones).

use serde::Deserialize;

/// The most of an answer's text quoted in a message.
const QUOTED: usize = 200;

/// A parsed answer: its samples and Prometheus's warnings (a partial
/// answer, e.g. a Thanos store that did not respond).
#[derive(Debug, Default)]
pub(crate) struct Answer {
    /// One per series returned.
    pub(crate) samples: Vec<Sample>,
    /// The answer's `warnings`, made printable.
    pub(crate) warnings: Vec<String>,
}

/// One series of an instant vector: the labels the view reads, and the value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    /// The `account` label.
    pub(crate) account: Option<String>,
    /// The `instance` label.
    pub(crate) instance: Option<String>,
    /// The `window` label (usage series).
    pub(crate) window: Option<String>,
    /// The sample value (NaN and infinities as Prometheus wrote them).
    pub(crate) value: f64,
}

/// The API's envelope: `{"status": "success"|"error", ...}`, its `data`
/// read as `D`.
#[derive(Deserialize)]
struct Envelope<D> {
    status: String,
    #[serde(default = "none")]
    data: Option<D>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
}

fn none<D>() -> Option<D> {
    None
}

/// `data` of an instant vector answer, read straight into samples (no
/// intermediate JSON value: an answer may be tens of megabytes).
#[derive(Deserialize)]
struct Vector {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<RawSample>,
}

/// `data` of any answer, read only to say what it is when it is not a
/// vector (its `result` is skipped unread).
#[derive(Deserialize)]
struct Other {
    #[serde(rename = "resultType")]
    result_type: String,
}

/// One element of a vector result.
#[derive(Deserialize)]
struct RawSample {
    metric: Labels,
    /// `[unix time, "value"]`.
    value: (serde_json::Value, String),
}

/// The labels read; every other label is ignored.
#[derive(Deserialize)]
struct Labels {
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    instance: Option<String>,
    #[serde(default)]
    window: Option<String>,
}

/// The samples of an answer with HTTP status `status` and body `body`, or
/// one line saying why there are none.
pub(crate) fn parse(status: u16, body: &[u8]) -> Result<Answer, String> {
    if status == 200 {
        if let Ok(Envelope {
            status: s,
            data: Some(v),
            warnings,
            ..
        }) = serde_json::from_slice::<Envelope<Vector>>(body)
        {
            if s == "success" && v.result_type == "vector" {
                return Ok(answer(v.result, &warnings));
            }
        }
    }
    Err(why_not(status, body))
}

/// Why `body` (HTTP `status`) is not an instant vector answer, one line.
fn why_not(status: u16, body: &[u8]) -> String {
    let envelope: Envelope<Other> = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(e) if status == 200 => {
            return format!(
                "the answer is not the Prometheus API's JSON ({e}): {}",
                quote(body)
            )
        }
        Err(_) => return format!("HTTP {status}: {}", quote(body)),
    };
    if envelope.status != "success" {
        return format!(
            "HTTP {status}: Prometheus answered {} {}: {}",
            printable(&envelope.status, QUOTED),
            printable(
                envelope.error_type.as_deref().unwrap_or("(no type)"),
                QUOTED
            ),
            printable(envelope.error.as_deref().unwrap_or("(no message)"), QUOTED)
        );
    }
    if status != 200 {
        return format!("HTTP {status} with a success body: {}", quote(body));
    }
    let Some(data) = envelope.data else {
        return "the answer has no data".to_string();
    };
    if data.result_type != "vector" {
        return format!(
            "the answer is a {}, not an instant vector",
            printable(&data.result_type, QUOTED)
        );
    }
    match serde_json::from_slice::<Envelope<Vector>>(body) {
        Err(e) => format!("the answer's result is not an instant vector: {e}"),
        Ok(_) => "the answer is not an instant vector".to_string(),
    }
}

/// The samples of a vector answer, and its warnings made printable.
fn answer(raw: Vec<RawSample>, warnings: &[String]) -> Answer {
    let samples = raw
        .into_iter()
        .map(|s| Sample {
            account: s.metric.account,
            instance: s.metric.instance,
            window: s.metric.window,
            // Prometheus writes NaN, +Inf and -Inf as such; anything that
            // is no number at all counts as NaN (dropped by the view).
            value: s.value.1.parse().unwrap_or(f64::NAN),
        })
        .collect();
    Answer {
        samples,
        warnings: warnings.iter().map(|w| printable(w, QUOTED)).collect(),
    }
}

/// The start of a body, on one line.
fn quote(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(QUOTED * 4)]);
    let shown = printable(text.trim(), QUOTED);
    if shown.is_empty() {
        "(an empty body)".to_string()
    } else {
        shown
    }
}

/// `s` on one line: control characters escaped, cut to `max` characters.
pub(crate) fn printable(s: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vector_answer_gives_its_samples_and_warnings() {
        let body = br#"{"status":"success","warnings":["store\ngateway down"],"data":{"resultType":"vector","result":[
            {"metric":{"__name__":"x","account":"a","instance":"h1:9464","job":"homeswap"},"value":[1.7e9,"1800000000"]},
            {"metric":{"window":"five_hour"},"value":[1.7e9,"NaN"]},
            {"metric":{},"value":[1.7e9,"eleven"]}]}}"#;
        let a = parse(200, body).unwrap();
        assert_eq!(a.samples.len(), 3);
        assert_eq!(a.samples[0].account.as_deref(), Some("a"));
        assert_eq!(a.samples[0].instance.as_deref(), Some("h1:9464"));
        assert_eq!(a.samples[0].value, 1.8e9);
        assert!(a.samples[1].value.is_nan() && a.samples[2].value.is_nan());
        assert_eq!(a.warnings, ["store\\ngateway down"]);
        let empty = parse(
            200,
            br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
        );
        assert!(empty.unwrap().samples.is_empty());
    }

    #[test]
    fn everything_else_is_one_line_saying_what_came() {
        for (status, body, want) in [
            (
                200,
                &b"{\"status\":\"success\",\"data\":{"[..],
                "not the Prometheus API's JSON",
            ),
            (
                200,
                b"<html>\n<b>hello</b>",
                "not the Prometheus API's JSON",
            ),
            (
                502,
                b"<html>\nBad Gateway</html>",
                "HTTP 502: <html>\\nBad Gateway</html>",
            ),
            (503, b"", "HTTP 503: (an empty body)"),
            (
                400,
                br#"{"status":"error","errorType":"bad_data","error":"parse error at char 3"}"#,
                "HTTP 400: Prometheus answered error bad_data: parse error at char 3",
            ),
            (
                200,
                br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#,
                "a matrix, not an instant vector",
            ),
            (
                200,
                br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{}}]}}"#,
                "not an instant vector",
            ),
            (200, br#"{"status":"success"}"#, "no data"),
            (200, br#"[1,2,3]"#, "not the Prometheus API's JSON"),
        ] {
            let e = parse(status, body).unwrap_err();
            assert!(
                e.contains(want),
                "{status} {:?}: {e}",
                String::from_utf8_lossy(body)
            );
            assert!(!e.contains('\n'), "{e}");
        }
        let long = "x".repeat(10_000);
        let e = parse(500, long.as_bytes()).unwrap_err();
        assert!(e.len() < 400, "quoted, not copied: {}", e.len());
    }
}
