//! Log output of the long-running commands: `tracing` events on stderr, as
//! text for people or JSON lines for log collectors. `RUST_LOG` narrows or
//! widens what is shown (default `info`).
//!
//! The JSON lines are written here rather than by tracing-subscriber's own
//! JSON formatter, which can only write a list as one string: every field
//! is a plain JSON value (strings, numbers, booleans), and a list logged as
//! [`List`] is a JSON array.

use std::fmt;
use std::io::IsTerminal;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// How log events are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line.
    Json,
}

/// Installs the global subscriber; a second call is a no-op.
pub(crate) fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.event_format(JsonLines).try_init(),
    };
}

/// The fields that hold a [`List`].
const LIST_FIELDS: [&str; 2] = ["errors", "problems"];

/// A list of strings as one log field: a JSON array in JSON lines, the
/// same array text in text logs. Log it with `?` under one of
/// [`LIST_FIELDS`]: `errors = ?List(&e)`.
pub(crate) struct List<'a>(pub(crate) &'a [String]);

impl fmt::Debug for List<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Serializing strings into JSON cannot fail.
        f.write_str(&serde_json::to_string(self.0).unwrap_or_default())
    }
}

/// One JSON object per event: `timestamp`, `level`, `message` and every
/// field at the top level.
struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Map::new();
        fields.insert(
            "timestamp".into(),
            humantime::format_rfc3339_micros(std::time::SystemTime::now())
                .to_string()
                .into(),
        );
        fields.insert(
            "level".into(),
            event.metadata().level().as_str().to_string().into(),
        );
        event.record(&mut JsonFields(&mut fields));
        writeln!(writer, "{}", Value::Object(fields))
    }
}

/// Collects an event's fields as JSON values.
struct JsonFields<'a>(&'a mut Map<String, Value>);

impl Visit for JsonFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.insert(field.name().into(), value.to_string().into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `%display` values and the message arrive here too: only the list
        // fields, logged as `List`, become arrays.
        let text = format!("{value:?}");
        let parsed = LIST_FIELDS
            .contains(&field.name())
            .then(|| serde_json::from_str::<Vec<String>>(&text).ok())
            .flatten();
        let value = match parsed {
            Some(list) => list.into(),
            None => text.into(),
        };
        self.0.insert(field.name().into(), value);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Captures what the formatter writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_list_is_an_array_and_every_other_field_a_plain_value() {
        let out = Captured::default();
        let sink = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .event_format(JsonLines)
            .finish();
        let errors = vec!["a; b".to_string(), "c \"d\"".to_string()];
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(
                errors = ?List(&errors),
                path = %"[\"x\"]",
                count = 2u64,
                from = Option::<&str>::None,
                "[\"kept\"]"
            );
        });
        let line = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let v: Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(v["errors"], serde_json::json!(["a; b", "c \"d\""]), "{v}");
        assert_eq!(v["path"], "[\"x\"]", "only list fields become arrays: {v}");
        assert_eq!(v["count"], 2);
        assert_eq!(v["message"], "[\"kept\"]");
        assert_eq!(v["level"], "WARN");
        assert!(v.get("from").is_none(), "an absent value is left out: {v}");
    }
}
