//! A first walk over the whole YAML document, before the schema: it
//! refuses a mapping that holds a key twice (serde keeps the last value of
//! a map and reports a struct's duplicate field without its position) and
//! a file that holds no document at all.
//!
//! The walk reads keys through its own visitor: an error raised while a
//! key is being read gets that key's mark from yaml_serde, so a duplicate
//! is reported at the second occurrence's line and column, in block and
//! flow style alike.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

use super::error::ConfigError;
use super::position;

/// Refuses duplicate keys anywhere in `text` and an empty document.
pub(super) fn check_document(path: &Path, text: &str) -> Result<(), ConfigError> {
    let duplicate = RefCell::new(None);
    let walk = Node {
        key: Vec::new(),
        duplicate: &duplicate,
    };
    let de = serde_yaml::Deserializer::from_str(text);
    match walk.deserialize(de) {
        Ok(Shape::Nothing) => Err(ConfigError::Empty {
            path: path.to_path_buf(),
        }),
        Ok(Shape::Something) => Ok(()),
        Err(e) => Err(match duplicate.into_inner() {
            Some(key) => duplicate_error(path, text, key, &e),
            None => ConfigError::syntax(path, &e),
        }),
    }
}

/// The error for a key given twice: at the second occurrence, saying
/// where the first one is when the text shows it.
fn duplicate_error(
    path: &Path,
    text: &str,
    key: Vec<String>,
    e: &serde_yaml::Error,
) -> ConfigError {
    let loc = e.location();
    let keys: Vec<&str> = key.iter().map(String::as_str).collect();
    let first = position::find_key(text, &keys)
        .filter(|(line, _)| Some(*line) != loc.as_ref().map(|l| l.line()));
    let message = match first {
        Some((line, column)) => format!(
            "duplicate key: already given at line {line}, column {column}; a key may appear only once"
        ),
        None => "duplicate key: a key may appear only once".to_string(),
    };
    ConfigError::Invalid {
        path: path.to_path_buf(),
        key: key.join("."),
        message,
        line: loc.as_ref().map(|l| l.line()),
        column: loc.as_ref().map(|l| l.column()),
    }
}

/// Whether a document held anything.
enum Shape {
    /// No document, or a null one.
    Nothing,
    /// A scalar, sequence or mapping.
    Something,
}

/// Walks one node of the document.
struct Node<'a> {
    /// The keys leading to this node (empty at the top).
    key: Vec<String>,
    /// Set to the full key path of the first duplicate found.
    duplicate: &'a RefCell<Option<Vec<String>>>,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Shape;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Shape;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
        Ok(Shape::Something)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
        Ok(Shape::Something)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
        Ok(Shape::Something)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
        Ok(Shape::Something)
    }
    fn visit_str<E>(self, _: &str) -> Result<Shape, E> {
        Ok(Shape::Something)
    }
    fn visit_unit<E>(self) -> Result<Shape, E> {
        Ok(Shape::Nothing)
    }
    fn visit_none<E>(self) -> Result<Shape, E> {
        Ok(Shape::Nothing)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        while seq.next_element_seed(self.child(String::new()))?.is_some() {}
        Ok(Shape::Something)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key_seed(Key {
            parent: &self,
            seen: &mut seen,
        })? {
            map.next_value_seed(self.child(key))?;
        }
        Ok(Shape::Something)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Shape, A::Error> {
        // A tagged value (`!tag value`): walk the value under the tag.
        let (de::IgnoredAny, variant) = data.variant()?;
        variant.newtype_variant_seed(self)?;
        Ok(Shape::Something)
    }
}

impl<'a> Node<'a> {
    /// The node under key `key` (empty for a sequence element or a key
    /// that is not a scalar: the error then names the enclosing key).
    fn child(&self, key: String) -> Node<'a> {
        let mut path = self.key.clone();
        if !key.is_empty() {
            path.push(key);
        }
        Node {
            key: path,
            duplicate: self.duplicate,
        }
    }

    /// The key path of `key` under this node.
    fn path_of(&self, key: &str) -> Vec<String> {
        let mut path = self.key.clone();
        path.push(key.to_string());
        path
    }
}

/// Reads one mapping key and refuses it when the mapping already had it.
struct Key<'n, 'a> {
    /// The mapping's node.
    parent: &'n Node<'a>,
    /// Keys seen so far in this mapping, as text.
    seen: &'n mut HashSet<String>,
}

impl<'de> DeserializeSeed<'de> for Key<'_, '_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }
}

impl Key<'_, '_> {
    fn text<E: de::Error>(self, text: String) -> Result<String, E> {
        if self.seen.insert(text.clone()) {
            return Ok(text);
        }
        *self.parent.duplicate.borrow_mut() = Some(self.parent.path_of(&text));
        Err(E::custom(format!("duplicate key {text:?}")))
    }
}

impl<'de> Visitor<'de> for Key<'_, '_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        self.text(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        self.text(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        self.text(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        self.text(v.to_string())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        self.text(v.to_string())
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        self.text("~".to_string())
    }
    fn visit_none<E: de::Error>(self) -> Result<String, E> {
        self.text("~".to_string())
    }

    // A sequence, mapping or tagged value as a key: no configuration key
    // looks like that (the schema refuses it); walk it for duplicates
    // inside and do not compare it.
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<String, A::Error> {
        self.parent.child(String::new()).visit_seq(seq)?;
        Ok(String::new())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<String, A::Error> {
        self.parent.child(String::new()).visit_map(map)?;
        Ok(String::new())
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<String, A::Error> {
        self.parent.child(String::new()).visit_enum(data)?;
        Ok(String::new())
    }
}
