//! The edits on the shapes a configuration is written in: each result is
//! compared byte for byte, so a comment moved or a line lost fails.

use std::path::Path;

use super::{add_account, remove_account, EditError};

const REST: &str = "active_link: /h/active\nshared_dir: /h/shared\nstate_dir: /h/state\n";

fn add(text: &str, name: &str, home: &str) -> Result<String, EditError> {
    add_account(Path::new("/etc/h.yaml"), text, name, Path::new(home)).map(|e| e.text)
}

fn remove(text: &str, name: &str) -> Result<String, EditError> {
    remove_account(Path::new("/etc/h.yaml"), text, name).map(|e| e.text)
}

#[test]
fn a_block_mapping_gains_a_line_after_its_last_entry_and_keeps_its_comments() {
    let text = format!(
        "# my accounts\naccounts:   # name -> home\n  a: /h/a   # the first\n  # b: /h/old (gone)\n\n{REST}"
    );
    let want = format!(
        "# my accounts\naccounts:   # name -> home\n  a: /h/a   # the first\n  c: /h/c\n  # b: /h/old (gone)\n\n{REST}"
    );
    assert_eq!(add(&text, "c", "/h/c").unwrap(), want);
    assert_eq!(
        remove(&want, "a").unwrap(),
        format!(
            "# my accounts\naccounts:   # name -> home\n  c: /h/c\n  # b: /h/old (gone)\n\n{REST}"
        )
    );
}

#[test]
fn the_indentation_and_line_endings_of_the_file_are_kept() {
    let text = format!("accounts:\n    a: /h/a\n{REST}");
    assert_eq!(
        add(&text, "b", "/h/b").unwrap(),
        format!("accounts:\n    a: /h/a\n    b: /h/b\n{REST}")
    );
    let crlf = format!("accounts:\r\n  a: /h/a\r\n{}", REST.replace('\n', "\r\n"));
    assert_eq!(
        add(&crlf, "b", "/h/b").unwrap(),
        format!(
            "accounts:\r\n  a: /h/a\r\n  b: /h/b\r\n{}",
            REST.replace('\n', "\r\n")
        )
    );
    // Accounts last, without a final newline.
    let last = format!("{REST}accounts:\n  a: /h/a");
    assert_eq!(
        add(&last, "b", "/h/b").unwrap(),
        format!("{REST}accounts:\n  a: /h/a\n  b: /h/b\n")
    );
}

#[test]
fn a_flow_mapping_on_one_line_gains_an_entry_before_its_brace() {
    let text = format!("accounts: {{a: /h/a, \"b\": '/h/b'}}  # two\n{REST}");
    let added = add(&text, "c", "/h/c").unwrap();
    assert_eq!(
        added,
        format!("accounts: {{a: /h/a, \"b\": '/h/b', c: /h/c}}  # two\n{REST}")
    );
    assert_eq!(
        remove(&added, "b").unwrap(),
        format!("accounts: {{a: /h/a, c: /h/c}}  # two\n{REST}")
    );
    assert_eq!(
        remove(&added, "c").unwrap(),
        format!("accounts: {{a: /h/a, \"b\": '/h/b'}}  # two\n{REST}")
    );
    assert_eq!(
        remove(&added, "a").unwrap(),
        format!("accounts: {{\"b\": '/h/b', c: /h/c}}  # two\n{REST}")
    );
    let trailing = format!("accounts: {{a: /h/a, }}\n{REST}");
    assert_eq!(
        add(&trailing, "b", "/h/b").unwrap(),
        format!("accounts: {{a: /h/a, b: /h/b, }}\n{REST}")
    );
}

#[test]
fn a_flow_mapping_over_several_lines_gains_a_line_of_its_own() {
    let text = format!("accounts: {{\n  a: /h/a,   # one\n  b: /h/b    # two\n}}\n{REST}");
    let added = add(&text, "c", "/h/c").unwrap();
    assert_eq!(
        added,
        format!("accounts: {{\n  a: /h/a,   # one\n  b: /h/b,    # two\n  c: /h/c\n}}\n{REST}")
    );
    assert_eq!(
        remove(&added, "b").unwrap(),
        format!("accounts: {{\n  a: /h/a,   # one\n  c: /h/c\n}}\n{REST}")
    );
    assert_eq!(
        remove(&added, "c").unwrap(),
        format!("accounts: {{\n  a: /h/a,   # one\n  b: /h/b    # two\n}}\n{REST}")
    );
    let trailing = format!("accounts: {{\n  a: /h/a,\n}}\n{REST}");
    let added = add(&trailing, "b", "/h/b").unwrap();
    assert_eq!(
        added,
        format!("accounts: {{\n  a: /h/a,\n  b: /h/b,\n}}\n{REST}")
    );
    assert_eq!(remove(&added, "b").unwrap(), trailing);
}

#[test]
fn an_explicit_order_gains_and_loses_the_name_too_and_so_do_thresholds() {
    let text = format!(
        "accounts:\n  a: /h/a\n  b: /h/b\n{REST}failover:\n  order:   # preference\n    - b\n    - a\n  thresholds: {{a: 80, b: 90}}\n"
    );
    let added = add(&text, "c", "/h/c").unwrap();
    assert_eq!(
        added,
        format!(
            "accounts:\n  a: /h/a\n  b: /h/b\n  c: /h/c\n{REST}failover:\n  order:   # preference\n    - b\n    - a\n    - c\n  thresholds: {{a: 80, b: 90}}\n"
        )
    );
    assert_eq!(
        remove(&added, "b").unwrap(),
        format!(
            "accounts:\n  a: /h/a\n  c: /h/c\n{REST}failover:\n  order:   # preference\n    - a\n    - c\n  thresholds: {{a: 80}}\n"
        )
    );
    let flow = format!(
        "accounts: {{a: /h/a, b: /h/b}}\n{REST}failover: {{order: [b, a], threshold: 95}}\n"
    );
    let added = add(&flow, "c", "/h/c").unwrap();
    assert_eq!(
        added,
        format!("accounts: {{a: /h/a, b: /h/b, c: /h/c}}\n{REST}failover: {{order: [b, a, c], threshold: 95}}\n")
    );
    let compact =
        format!("accounts:\n  a: /h/a\n{REST}failover:\n  order:\n  - a\n  cooldown: 1h\n");
    assert_eq!(
        add(&compact, "b", "/h/b").unwrap(),
        format!("accounts:\n  a: /h/a\n  b: /h/b\n{REST}failover:\n  order:\n  - a\n  - b\n  cooldown: 1h\n")
    );
}

#[test]
fn a_home_that_yaml_would_misread_is_quoted() {
    let text = format!("accounts:\n  a: /h/a\n{REST}");
    assert_eq!(
        add(&text, "b", "/h/my b: #1").unwrap(),
        format!("accounts:\n  a: /h/a\n  b: \"/h/my b: #1\"\n{REST}")
    );
    let flow = format!("accounts: {{a: /h/a}}\n{REST}");
    assert_eq!(
        add(&flow, "b", "/h/b,c").unwrap(),
        format!("accounts: {{a: /h/a, b: \"/h/b,c\"}}\n{REST}")
    );
}

#[test]
fn a_configuration_that_would_not_validate_is_not_edited() {
    let text = format!("accounts:\n  a: /h/a\n{REST}");
    for (name, home, want) in [
        ("b", "/h/shared/b", "is inside shared_dir"),
        ("b", "/h/a", "same path as accounts.a"),
        ("b", "h/b", "not an absolute path"),
        ("a", "/h/other", "duplicate key"),
    ] {
        let e = add(&text, name, home).unwrap_err();
        assert!(matches!(e, EditError::Invalid(_)), "{name} {home}: {e}");
        assert!(e.to_string().contains(want), "{name} {home}: {e}");
    }
    let e = remove(&text, "a").unwrap_err();
    assert!(matches!(e, EditError::Invalid(_)), "{e}");
}

#[test]
fn shapes_these_edits_do_not_understand_are_refused() {
    for text in [
        format!("accounts: &acc\n  a: /h/a\n{REST}"),
        format!("accounts: !!map\n  a: /h/a\n{REST}"),
        "{accounts: {a: /h/a}, active_link: /h/active, shared_dir: /h/shared, state_dir: /h/state}\n".to_string(),
    ] {
        let e = add(&text, "b", "/h/b").unwrap_err();
        assert!(
            matches!(e, EditError::Shape { .. }) && e.to_string().contains("edit the file by hand"),
            "{text}: {e}"
        );
    }
    let e = add("accounts: [\n", "b", "/h/b").unwrap_err();
    assert!(matches!(e, EditError::Current(_)), "{e}");
}
