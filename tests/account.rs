//! `homeswap account add` and `account remove` on real homes and real
//! configuration files: the file keeps its comments and order (compared
//! byte for byte), a refusal changes nothing (the file's bytes and the
//! disk compared before and after), and the home is never deleted.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{snapshot, Sandbox};

/// A sandbox whose configuration is written by hand, with comments, in
/// block style; links ensured and `a` active.
fn commented() -> Sandbox {
    let s = Sandbox::new();
    write_config(&s, &block_text(&s));
    s.ok(&["ensure"]);
    s.ok(&["swap", "a"]);
    s
}

fn block_text(s: &Sandbox) -> String {
    format!(
        "# The accounts of this machine.\naccounts:          # name -> home\n  a: {}   # work\n  # an old one:\n  #   z: /nowhere\n  b: {}\n\nactive_link: {}   # CLAUDE_CONFIG_DIR points here\nshared_dir: {}\nstate_dir: {}\n# the end\n",
        s.home("a").display(),
        s.home("b").display(),
        s.active().display(),
        s.shared().display(),
        s.state().display()
    )
}

fn write_config(s: &Sandbox, text: &str) {
    std::fs::write(&s.config, text).unwrap();
}

fn config_text(s: &Sandbox) -> String {
    std::fs::read_to_string(&s.config).unwrap()
}

/// The default home of a new account: beside the active link.
fn beside_active(s: &Sandbox, name: &str) -> PathBuf {
    PathBuf::from(format!("{}-{name}", s.active().display()))
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Everything under the sandbox's root, for "nothing changed" (the audit
/// log aside: a refusal is recorded).
fn disk(s: &Sandbox) -> Vec<(PathBuf, common::Entry)> {
    snapshot(s.root())
        .into_iter()
        .filter(|(p, _)| !p.starts_with("state"))
        .collect()
}

#[test]
fn add_creates_the_home_and_its_links_and_keeps_the_files_comments_and_order() {
    let s = commented();
    let before = config_text(&s);
    let r = s.ok(&["account", "add", "c"]);
    let home = beside_active(&s, "c");
    // The new entry after the last one, everything else byte for byte.
    let b_line = format!("  b: {}\n", s.home("b").display());
    let want = before.replacen(&b_line, &format!("{b_line}  c: {}\n", home.display()), 1);
    assert_eq!(config_text(&s), want);
    assert!(home.is_dir());
    assert_eq!(mode(&home), 0o700);
    for link in common::LINKS {
        assert_eq!(
            std::fs::read_link(home.join(link)).unwrap(),
            s.shared().join(link)
        );
    }
    assert_eq!(s.run(&["validate"]).code, 0);
    assert!(
        r.stdout.contains(&format!(
            "account c: created its home {} (mode 0700)",
            home.display()
        )),
        "{r:?}"
    );
    assert!(
        r.stdout
            .contains(&format!("  CLAUDE_CONFIG_DIR={} claude\n", home.display())),
        "{r:?}"
    );
    assert!(r.stdout.contains("/login"), "{r:?}");
    assert!(r.stdout.contains("SIGHUP"), "{r:?}");
    // Not a terminal: no offer to run claude, nothing waits for input.
    assert!(!r.stdout.contains("Run it now?"), "{r:?}");
    let last = s.audit().pop().unwrap();
    assert_eq!(
        (&last["action"], &last["outcome"], &last["account"]),
        (
            &serde_json::json!("account_add"),
            &serde_json::json!("added"),
            &serde_json::json!("c")
        )
    );
    assert_eq!(last["home"], home.display().to_string());
    // Swapping to it works: it is a configured account with ok links.
    s.ok(&["swap", "c"]);
}

#[test]
fn add_into_a_flow_mapping_and_an_explicit_order_appends_to_both() {
    let s = Sandbox::new();
    let text = format!(
        "accounts: {{a: {}, b: {}}}   # two\nactive_link: {}\nshared_dir: {}\nstate_dir: {}\nfailover:\n  order: [b, a]   # b first\n",
        s.home("a").display(),
        s.home("b").display(),
        s.active().display(),
        s.shared().display(),
        s.state().display()
    );
    write_config(&s, &text);
    let home = s.root().join("elsewhere-c");
    s.ok(&["account", "add", "c", "--home", home.to_str().unwrap()]);
    let want = text
        .replace(
            &format!("b: {}}}", s.home("b").display()),
            &format!("b: {}, c: {}}}", s.home("b").display(), home.display()),
        )
        .replace("[b, a]", "[b, a, c]");
    assert_eq!(config_text(&s), want);
    assert!(s
        .ok(&["status", "--json"])
        .stdout
        .contains("\"account\": \"c\""));
}

#[test]
fn bad_names_and_relative_homes_are_usage_errors_that_change_nothing() {
    let s = commented();
    let before = (config_text(&s), disk(&s));
    for args in [
        &["account", "add", "C"][..],
        &["account", "add", "--", "-x"],
        &["account", "add", "a.b"],
        &["account", "add", &"x".repeat(33)],
        &["account", "add", "ok", "--home", "relative/home"],
        &["account", "add", "ok", "--home", "/tmp/../etc/x"],
    ] {
        let r = s.run(args);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {r:?}");
        assert_eq!((config_text(&s), disk(&s)), before, "{args:?}");
    }
    // A name already configured: refused (1), nothing changed.
    let r = s.run(&["account", "add", "b"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("it is configured already"), "{r:?}");
    assert_eq!((config_text(&s), disk(&s)), before);
}

#[test]
fn an_existing_home_that_holds_anything_is_refused_and_an_empty_one_is_used() {
    let s = commented();
    let home = beside_active(&s, "c");
    std::fs::create_dir(&home).unwrap();
    std::fs::write(home.join(".credentials.json"), b"{\"secret\":1}").unwrap();
    let before = (config_text(&s), disk(&s));
    let r = s.run(&["account", "add", "c"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "the home {} exists and is not empty (1 entry: .credentials.json)",
            home.display()
        )),
        "{r:?}"
    );
    assert_eq!((config_text(&s), disk(&s)), before, "nothing changed");
    // Emptied: it is used as it is.
    std::fs::remove_file(home.join(".credentials.json")).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o750)).unwrap();
    let r = s.ok(&["account", "add", "c"]);
    assert!(
        r.stdout.contains("its home is the existing directory"),
        "{r:?}"
    );
    assert_eq!(mode(&home), 0o750, "an existing home keeps its mode");
    assert!(config_text(&s).contains(&format!("  c: {}\n", home.display())));
    // A regular file where the home would go is refused too.
    std::fs::write(beside_active(&s, "d"), b"x").unwrap();
    let r = s.run(&["account", "add", "d"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("is a regular file, not a directory"),
        "{r:?}"
    );
}

#[test]
fn a_configuration_that_would_not_validate_is_not_written_and_no_home_is_made() {
    let s = commented();
    let before = (config_text(&s), disk(&s));
    for (home, why) in [
        (s.shared().join("c"), "is inside shared_dir"),
        (s.state(), "is the same path as state_dir"),
        (s.home("a").join("c"), "is inside accounts.a"),
    ] {
        let r = s.run(&["account", "add", "c", "--home", home.to_str().unwrap()]);
        assert_eq!(r.code, 1, "{home:?}: {r:?}");
        assert!(
            r.stderr
                .contains("the configuration would not validate with this change"),
            "{r:?}"
        );
        assert!(r.stderr.contains(why), "{why}: {r:?}");
        assert_eq!((config_text(&s), disk(&s)), before, "{home:?}");
    }
    // A file that no longer validates as it is: nothing is written either.
    let broken = format!("{}serve:\n  interval: soon\n", block_text(&s));
    write_config(&s, &broken);
    let r = s.run(&["account", "add", "c"]);
    assert_eq!(r.code, 2, "the configuration does not load: {r:?}");
    assert_eq!(config_text(&s), broken);
    assert!(!beside_active(&s, "c").exists());
}

#[test]
fn an_anchor_in_accounts_is_not_edited_and_says_to_edit_by_hand() {
    let s = commented();
    let text = block_text(&s).replace("accounts:          # name -> home", "accounts: &homes");
    write_config(&s, &text);
    let r = s.run(&["account", "add", "c"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("edit the file by hand"), "{r:?}");
    assert_eq!(config_text(&s), text);
    assert!(!beside_active(&s, "c").exists(), "no home made: {r:?}");
}

#[test]
fn a_configuration_file_that_is_a_link_stays_a_link_with_its_mode() {
    let s = commented();
    let real = s.root().join("real-config.yaml");
    std::fs::rename(&s.config, &real).unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::symlink(&real, &s.config).unwrap();
    s.ok(&["account", "add", "c"]);
    assert_eq!(std::fs::read_link(&s.config).unwrap(), real);
    assert!(std::fs::read_to_string(&real).unwrap().contains("  c: "));
    assert_eq!(mode(&real), 0o640);
}

#[test]
fn remove_takes_the_entry_out_keeps_the_rest_and_never_the_home() {
    let s = commented();
    s.ok(&["account", "add", "c"]);
    let with_c = config_text(&s);
    let home_c = beside_active(&s, "c");
    std::fs::write(home_c.join(".credentials.json"), b"{}").unwrap();
    let r = s.ok(&["account", "remove", "c"]);
    assert_eq!(
        config_text(&s),
        with_c.replace(&format!("  c: {}\n", home_c.display()), "")
    );
    assert_eq!(
        config_text(&s),
        block_text(&s),
        "back to the file as written"
    );
    assert!(home_c.join(".credentials.json").exists(), "the home stays");
    assert!(
        r.stdout
            .contains(&format!("its home {} is still there", home_c.display())),
        "{r:?}"
    );
    assert!(r.stdout.contains("SIGHUP"), "{r:?}");
    assert_eq!(s.audit().pop().unwrap()["outcome"], "removed");
}

#[test]
fn remove_is_refused_for_the_active_account_and_the_last_one() {
    let s = commented();
    let before = (config_text(&s), disk(&s));
    let r = s.run(&["account", "remove", "a"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("it is the active account"), "{r:?}");
    let r = s.run(&["account", "remove", "nobody"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("unknown account \"nobody\""), "{r:?}");
    assert_eq!((config_text(&s), disk(&s)), before);
    s.ok(&["account", "remove", "b"]);
    // Only a is left, and active; with the active link gone, still the last.
    std::fs::remove_file(s.active()).unwrap();
    let r = s.run(&["account", "remove", "a"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("it is the only account"), "{r:?}");
}

#[test]
fn remove_takes_the_name_out_of_the_order_and_the_thresholds_too() {
    let s = Sandbox::with_accounts(
        &["a", "b", "c"],
        "failover:\n  order:\n    - c   # first\n    - b\n    - a\n  threshold: 95\n  thresholds: {b: 80, c: 70}\n",
    );
    let before = config_text(&s);
    s.ok(&["account", "remove", "b"]);
    let want = before
        .replace(&format!("  b: {}\n", s.home("b").display()), "")
        .replace("    - b\n", "")
        .replace("{b: 80, c: 70}", "{c: 70}");
    assert_eq!(config_text(&s), want);
}

#[test]
fn a_running_sidecar_picks_an_added_account_up_on_sighup() {
    let s = commented();
    s.add_serve_section();
    let server = s.serve(None);
    s.ok(&["account", "add", "c"]);
    assert!(
        !server
            .metrics()
            .series
            .contains_key("homeswap_active_account{account=\"c\"}"),
        "not before the reload"
    );
    server.signal(nix::sys::signal::Signal::SIGHUP);
    common::wait_for(
        "the sidecar to know account c",
        std::time::Duration::from_secs(10),
        || {
            let text = server.get("/metrics").text();
            text.contains("homeswap_active_account{account=\"c\"} 0")
        },
    );
}
