//! Paths as an operator reads them. A file name may hold a newline or bytes
//! that are not UTF-8; printed raw, the first splits one problem line into
//! two and the second cannot go into JSON at all. So problem lines escape
//! control characters and stray bytes (`home\nc`, `\xff`), and JSON carries
//! a path as its exact text when it is UTF-8, else as that escaped form.

use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde::Serializer;

/// A path displayed on one line, with control characters and bytes that
/// are not UTF-8 escaped.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shown<'a>(&'a Path);

/// Wraps a path for one-line display.
pub(crate) fn shown(path: &Path) -> Shown<'_> {
    Shown(path)
}

/// A path as one shell word, to paste into a command line: as it is when it
/// holds only characters no shell treats specially, else in single quotes
/// (a `'` inside as `'\''`). Control characters and stray bytes are
/// escaped as in [`shown`] first.
pub(crate) fn shell_word(path: &Path) -> String {
    let text = shown(path).to_string();
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+:@%,=".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.as_os_str().as_bytes().utf8_chunks() {
            for c in chunk.valid().chars() {
                if c.is_control() {
                    write!(f, "{}", c.escape_default())?;
                } else {
                    write!(f, "{c}")?;
                }
            }
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

/// `text` on one line: control characters (newline, escape, ...) escaped,
/// so nothing another process wrote can split a line or drive a terminal.
pub(crate) fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// `serialize_with` for a path: its text, or the escaped form when it is
/// not UTF-8 (JSON strings must be).
pub(crate) fn path<S: Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    match path.to_str() {
        Some(text) => s.serialize_str(text),
        None => s.collect_str(&shown(path)),
    }
}

/// `serialize_with` for an optional path.
pub(crate) fn opt_path<S: Serializer>(p: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
    match p {
        Some(p) => path(p, s),
        None => s.serialize_none(),
    }
}

/// `serialize_with` for a list of paths.
pub(crate) fn paths<S: Serializer>(ps: &[PathBuf], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ps.iter().map(|p| Text(p)))
}

/// One path of a list, serialized as by [`path`].
struct Text<'a>(&'a Path);

impl serde::Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        path(self.0, s)
    }
}

/// Lossless JSON for an optional path that must come back byte for byte
/// (the intent record's previous target, which a rollback restores): its
/// text when it is UTF-8, else its bytes as an array of numbers.
pub(crate) mod exact {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use std::path::{Path, PathBuf};

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize)]
    #[serde(untagged)]
    enum Out<'a> {
        Text(&'a str),
        Bytes(&'a [u8]),
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum In {
        Text(String),
        Bytes(Vec<u8>),
    }

    fn out(p: &Path) -> Out<'_> {
        match p.to_str() {
            Some(t) => Out::Text(t),
            None => Out::Bytes(p.as_os_str().as_bytes()),
        }
    }

    /// `serialize_with` for `Option<PathBuf>`.
    pub(crate) fn serialize<S: Serializer>(p: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
        p.as_deref().map(out).serialize(s)
    }

    /// `deserialize_with` for `Option<PathBuf>`.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<PathBuf>, D::Error> {
        Ok(Option::<In>::deserialize(d)?.map(|v| match v {
            In::Text(t) => PathBuf::from(t),
            In::Bytes(b) => PathBuf::from(OsStr::from_bytes(&b)),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn newlines_and_stray_bytes_are_escaped_on_one_line() {
        let p = Path::new(OsStr::from_bytes(b"/srv/home\nc/\xff\xfeproj\tx"));
        assert_eq!(shown(p).to_string(), "/srv/home\\nc/\\xff\\xfeproj\\tx");
        assert_eq!(shown(Path::new("/srv/é")).to_string(), "/srv/é");
    }

    #[test]
    fn json_keeps_utf8_paths_exact_and_escapes_the_rest() {
        #[derive(serde::Serialize)]
        struct T {
            #[serde(serialize_with = "path")]
            a: PathBuf,
            #[serde(serialize_with = "opt_path")]
            b: Option<PathBuf>,
            #[serde(serialize_with = "paths")]
            c: Vec<PathBuf>,
        }
        let t = T {
            a: PathBuf::from("/x/new\nline"),
            b: Some(PathBuf::from(OsStr::from_bytes(b"/x/\xff"))),
            c: vec![PathBuf::from("/y")],
        };
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"a":"/x/new\nline","b":"/x/\\xff","c":["/y"]}"#
        );
    }

    #[test]
    fn exact_paths_come_back_byte_for_byte() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct T {
            #[serde(with = "exact")]
            p: Option<PathBuf>,
        }
        for p in [
            Some(PathBuf::from("/home/a")),
            Some(PathBuf::from(OsStr::from_bytes(b"/x/\xff\n"))),
            None,
        ] {
            let t = T { p };
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(serde_json::from_str::<T>(&json).unwrap(), t, "{json}");
        }
        let utf8 = T {
            p: Some(PathBuf::from("/home/a")),
        };
        assert_eq!(serde_json::to_string(&utf8).unwrap(), r#"{"p":"/home/a"}"#);
    }
}
