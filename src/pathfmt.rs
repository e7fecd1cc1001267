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
pub struct Shown<'a>(&'a Path);

/// Wraps a path for one-line display.
pub fn shown(path: &Path) -> Shown<'_> {
    Shown(path)
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

/// `serialize_with` for a path: its text, or the escaped form when it is
/// not UTF-8 (JSON strings must be).
pub fn path<S: Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    match path.to_str() {
        Some(text) => s.serialize_str(text),
        None => s.collect_str(&shown(path)),
    }
}

/// `serialize_with` for an optional path.
pub fn opt_path<S: Serializer>(p: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
    match p {
        Some(p) => path(p, s),
        None => s.serialize_none(),
    }
}

/// `serialize_with` for a list of paths.
pub fn paths<S: Serializer>(ps: &[PathBuf], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ps.iter().map(|p| Text(p)))
}

/// One path of a list, serialized as by [`path`].
struct Text<'a>(&'a Path);

impl serde::Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        path(self.0, s)
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
}
