use super::*;
use crate::state::flips::FlipRecord;
use std::path::PathBuf;

const S: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;

fn config() -> Config {
    Config::parse(
        Path::new("/c.yaml"),
        "accounts:\n  a: /h/a\n  b: /h/b\nactive_link: /h/active\nshared_dir: /h/shared\nstate_dir: /h/state\n",
    )
    .unwrap()
}

/// The flips as a reader finds them at `now`: a -> b at `flip`, the link
/// made then.
fn flips_at<'c>(config: &'c Config, flip: u64, now: u64) -> Flips<'c> {
    let record = FlipRecord {
        at_ns: flip,
        from: Some(PathBuf::from("/h/a")),
        from_since_ns: Some(10 * S),
        to: Some(PathBuf::from("/h/b")),
    };
    let live = LiveLink {
        made_ns: flip,
        target: PathBuf::from("/h/b"),
    };
    Flips {
        config,
        timeline: Timeline::build(&[record], Some(&live), now),
        now_ns: now,
        unreadable: None,
    }
}

fn by(a: &str) -> Served {
    Served::By(a.to_string())
}

#[test]
fn a_request_is_served_by_the_home_named_when_it_was_sent() {
    let c = config();
    let f = flips_at(&c, 1000 * S, 2000 * S);
    assert_eq!(f.served_at(990 * S), by("a"));
    assert_eq!(
        f.served_at(1000 * S + 1500 * MS),
        by("b"),
        "1.5 s after the flip"
    );
    assert_eq!(
        f.served_at(1000 * S - 50 * MS),
        by("a"),
        "stamped 50 ms before the flip"
    );
    for doubtful in [1000 * S - 5 * MS, 1000 * S + 500 * MS, 1000 * S + 999 * MS] {
        let Served::Unknown(why) = f.served_at(doubtful) else {
            panic!("{doubtful}: a flip within the margins is a doubt");
        };
        assert!(why.contains("to b at 00:16:40.000Z"), "{why}");
        assert!(why.contains("margins: 1s before, 10ms after"), "{why}");
    }
}

#[test]
fn a_window_without_a_flip_needs_no_transcript() {
    let c = config();
    let f = flips_at(&c, 1000 * S, 2000 * S);
    assert_eq!(f.served_since(1500 * S), by("b"));
    assert!(matches!(f.served_since(900 * S), Served::Unknown(_)));
    let slack = super::FLIP_CLOCK_SLACK.as_nanos() as u64;
    assert_eq!(
        f.served_since(1000 * S + slack + 1),
        by("b"),
        "the bound is a moment seen before the request: no margin but the file clock's slack"
    );
    assert!(matches!(
        f.served_since(1000 * S + slack - 1),
        Served::Unknown(_)
    ));
}

#[test]
fn a_home_that_is_no_account_is_not_an_account() {
    let c = config();
    let live = LiveLink {
        made_ns: 5 * S,
        target: PathBuf::from("/h/elsewhere"),
    };
    let f = Flips {
        config: &c,
        timeline: Timeline::build(&[], Some(&live), 100 * S),
        now_ns: 100 * S,
        unreadable: Some("flips.json: garbage".into()),
    };
    let Served::Unknown(why) = f.served_since(50 * S) else {
        panic!()
    };
    assert!(
        why.contains("/h/elsewhere, which is no configured account"),
        "{why}"
    );
    let Served::Unknown(why) = f.served_at(4 * S) else {
        panic!()
    };
    assert!(why.contains("flips.json: garbage"), "{why}");
}

#[test]
fn flips_are_read_from_the_state_dir_and_the_live_link() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let yaml = format!(
        "accounts:\n  a: {r}/a\n  b: {r}/b\nactive_link: {r}/active\nshared_dir: {r}/shared\nstate_dir: {r}/state\n",
        r = root.display()
    );
    let c = Config::parse(Path::new("/c.yaml"), &yaml).unwrap();
    let state = StateDir::new(&c.state_dir);
    std::os::unix::fs::symlink(root.join("a"), root.join("active")).unwrap();
    let f = Flips::read(&c, &state);
    assert!(
        matches!(f.served_since(f.now_ns - S), Served::Unknown(_)),
        "the link was made just now: before it, nothing is known"
    );
    // Made an hour ago (its own mtime, not its target's).
    let hour_ago = nix::sys::time::TimeSpec::new(i64::try_from(f.now_ns / S).unwrap() - 3600, 0);
    nix::sys::stat::utimensat(
        nix::fcntl::AT_FDCWD,
        &root.join("active"),
        &hour_ago,
        &hour_ago,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
    .unwrap();
    let f = Flips::read(&c, &state);
    assert_eq!(f.served_since(f.now_ns - 60 * S), by("a"));
}
