//! The real Claude Code across a swap, where its credentials decide: a
//! running session follows a swap between two homes whose
//! `.credentials.json` share a modification time (the swap gives the
//! incoming file a time of its own), and a swap asked for while the
//! outgoing account refreshes its OAuth token waits for the refresh, so
//! the new tokens land in the outgoing home before the flip. The token
//! endpoint is a TLS stand-in reached by name through a private
//! `/etc/hosts` and trusted through `NODE_EXTRA_CA_CERTS` (`claude::tls`).
//!
//! `#[ignore]`d: root, tmux and the pinned client
//! (`bash tests/claude/install.sh`); `.ci/run` runs them.

mod claude;
mod common;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use claude::tls::{TokenEndpoint, OAUTH_HOSTS};
use claude::tmux::{Tmux, SCREEN_LIMIT};
use claude::Rig;
use common::{wait_for, Sandbox};

/// Types `prompt`, waits for its answer and returns the bearer its
/// request carried.
fn token_of_turn(rig: &Rig, tmux: &Tmux, prompt: &str) -> String {
    tmux.type_line(prompt);
    let answer = format!("ANSWER[{prompt}]");
    tmux.wait_for(&answer, SCREEN_LIMIT, |s| s.contains(&answer));
    rig.api.call_for(prompt).token.unwrap_or_default()
}

fn creds(rig: &Rig, account: &str) -> std::path::PathBuf {
    rig.sb.home(account).join(".credentials.json")
}

fn set_mtime(path: &Path, t: SystemTime) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(t).unwrap();
}

fn mtime(path: &Path) -> SystemTime {
    std::fs::symlink_metadata(path).unwrap().modified().unwrap()
}

/// The `claudeAiOauth` object of `account`'s credentials.
fn oauth(rig: &Rig, account: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(creds(rig, account)).unwrap();
    serde_json::from_str::<serde_json::Value>(&text).unwrap()["claudeAiOauth"].clone()
}

/// Gives `account` an expired access token (refresh token
/// `refresh-ACCOUNT`), its file's mtime kept.
fn expire(rig: &Rig, account: &str) {
    let path = creds(rig, account);
    let before = mtime(&path);
    let body = serde_json::json!({"claudeAiOauth": {
        "accessToken": format!("token-{account}"), "refreshToken": format!("refresh-{account}"),
        "expiresAt": 1000,
        "scopes": ["user:inference", "user:profile", "user:sessions:claude_code"],
        "subscriptionType": "max"}});
    std::fs::write(&path, body.to_string()).unwrap();
    set_mtime(&path, before);
}

/// Two homes whose credentials share one modification time to the
/// nanosecond (a `cp -p` of a backup): after `homeswap swap b`, the running
/// session's next request carries b's token. Before the swap moved the
/// incoming file's time, it carried a's (the 2.1.328 client compares that
/// time alone).
#[test]
#[ignore = "needs root, tmux and Claude Code (bash tests/claude/install.sh); run by .ci/run"]
fn a_running_session_follows_a_swap_between_homes_whose_credentials_share_an_mtime() {
    if !claude::isolated_interactive(
        "a_running_session_follows_a_swap_between_homes_whose_credentials_share_an_mtime",
    ) {
        return;
    }
    let rig = Rig::new(Sandbox::ready());
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let same = UNIX_EPOCH + Duration::new(now.as_secs() - 3600, 123_456_789);
    set_mtime(&creds(&rig, "a"), same);
    set_mtime(&creds(&rig, "b"), same);
    let warned = rig.sb.ok(&["validate"]);
    assert!(
        warned
            .stderr
            .contains("accounts a and b: their .credentials.json have the same modification time"),
        "{warned:?}"
    );
    let b_bytes = std::fs::read(creds(&rig, "b")).unwrap();
    let tmux = rig.interactive();
    assert_eq!(token_of_turn(&rig, &tmux, "one"), "token-a");

    rig.sb.ok(&["swap", "b"]);
    assert_eq!(
        token_of_turn(&rig, &tmux, "two"),
        "token-b",
        "the session's next request after the swap"
    );
    assert_eq!(
        std::fs::read(creds(&rig, "b")).unwrap(),
        b_bytes,
        "content untouched"
    );
    assert_ne!(mtime(&creds(&rig, "b")), same);
    // And back to a, whose file still has the old shared time.
    rig.sb.ok(&["swap", "a"]);
    assert_eq!(token_of_turn(&rig, &tmux, "three"), "token-a");
    claude::hooks::report(
        "equal mtimes: the session followed both swaps (token-a, token-b, token-a)",
    );
}

/// The entries in and beside `account`'s home that the refresh lock
/// protocol makes.
fn lock_entries(rig: &Rig, account: &str) -> Vec<String> {
    let mut v: Vec<String> = claude::files::entries(&rig.sb.home(account))
        .into_iter()
        .filter(|e| e.contains("oauth_refresh"))
        .collect();
    if rig.sb.root().join(format!("home-{account}.lock")).exists() {
        v.push(format!("../home-{account}.lock"));
    }
    v
}

/// A running session whose access token on `a` has expired refreshes it
/// at the TLS stand-in, whose answer is held; `homeswap swap b` is asked
/// for meanwhile. The swap waits (the link stays on a); once the answer
/// goes out, Claude Code writes the new tokens into a's home, then the
/// swap flips, and the session's next request goes out on b. Before the
/// swap took the refresh lock, it flipped at once, the new tokens were
/// thrown away (b's file holds another refresh token) and a kept its
/// spent one.
#[test]
#[ignore = "needs root, tmux and Claude Code (bash tests/claude/install.sh); run by .ci/run"]
fn a_swap_waits_for_the_outgoing_accounts_token_refresh_and_its_new_tokens_stay() {
    if !claude::isolated_with_names(
        "a_swap_waits_for_the_outgoing_accounts_token_refresh_and_its_new_tokens_stay",
        &["tmux"],
        &OAUTH_HOSTS,
    ) {
        return;
    }
    let rig = Rig::new(Sandbox::ready());
    let endpoint = TokenEndpoint::start(&rig.sb.root().join("pki"));
    expire(&rig, "a");
    endpoint.hold();
    let mut env = rig.env(&rig.sb.active());
    env.extend(endpoint.env());
    let tmux = Tmux::start(
        &rig.sb.root().join("tmux.sock"),
        &rig.work,
        &env,
        &rig.interactive_argv(&[]),
    );
    tmux.wait_for("the prompt", SCREEN_LIMIT, |s| {
        s.contains("Claude Code v") && s.contains('❯')
    });
    tmux.type_line("one");
    wait_for("the token request", Duration::from_secs(30), || {
        !endpoint.token_calls().is_empty()
    });
    let during = lock_entries(&rig, "a");
    assert!(
        during.contains(&".oauth_refresh.lock".to_string()),
        "{during:?}"
    );
    // Claude Code's owner record names the lock's birth time as homeswap
    // computes it for its own record (so Claude Code can take over one
    // that a crashed homeswap left).
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(rig.sb.home("a").join(".oauth_refresh.lock.owner")).unwrap(),
    )
    .unwrap();
    let born = std::fs::metadata(rig.sb.home("a").join(".oauth_refresh.lock"))
        .unwrap()
        .created()
        .unwrap()
        .duration_since(UNIX_EPOCH)
        .unwrap();
    let ms = born.as_secs() as f64 * 1000.0 + f64::from(born.subsec_nanos()) / 1e6;
    assert_eq!(record["lockBirthtimeMs"].as_f64(), Some(ms), "{record}");

    let mut swap = rig.sb.spawn(&["swap", "b"], None);
    wait_for("the swap's intent record", Duration::from_secs(10), || {
        rig.sb.state().join("intent.json").exists()
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        swap.try_wait().unwrap().is_none(),
        "the swap did not wait for the refresh"
    );
    assert_eq!(rig.sb.active_account(), "a", "no flip during the refresh");
    endpoint.release();
    let r = common::finish_within(swap, Duration::from_secs(10), "the swap");
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(rig.sb.active_account(), "b");
    tmux.wait_for("ANSWER[one]", SCREEN_LIMIT, |s| s.contains("ANSWER[one]"));

    // The refresh's new tokens are a's, in a's home; b is untouched.
    let a = oauth(&rig, "a");
    assert_eq!(a["accessToken"], "token-a-r1", "{a}");
    assert_eq!(a["refreshToken"], "refresh-a-r1", "{a}");
    assert_eq!(oauth(&rig, "b")["refreshToken"], "refresh-b");
    // Written before the flip: the new active link is younger than a's file.
    assert!(mtime(&rig.sb.active()) >= mtime(&creds(&rig, "a")));
    assert_eq!(rig.api.call_for("one").token.as_deref(), Some("token-a-r1"));
    // The session's next request goes out on b, without a restart.
    assert_eq!(token_of_turn(&rig, &tmux, "two"), "token-b");
    assert_eq!(endpoint.token_calls().len(), 1, "{:#?}", endpoint.calls());
    assert!(
        lock_entries(&rig, "a").is_empty(),
        "{:?}",
        lock_entries(&rig, "a")
    );
    assert!(
        lock_entries(&rig, "b").is_empty(),
        "{:?}",
        lock_entries(&rig, "b")
    );
    claude::hooks::report(&format!(
        "refresh held during a swap: the swap waited, a got {a}, then the flip; the next request carried token-b"
    ));
}

/// A swap killed while it held a's refresh lock leaves the lock with an
/// owner record in Claude Code's format naming the dead process. A Claude
/// Code on a that needs a refresh then takes the lock over by its own
/// rules (its retries, about 7.5 s, then the dead-holder takeover) and
/// refreshes, rather than give up and send its expired token. (Without an
/// owner record it would give up: `no_owner_record`, `lock_timeout`.)
#[cfg(feature = "failpoints")]
#[test]
#[ignore = "needs root and Claude Code (bash tests/claude/install.sh); run by .ci/run"]
fn claude_code_takes_over_the_refresh_lock_a_crashed_swap_left() {
    if !claude::isolated_with_names(
        "claude_code_takes_over_the_refresh_lock_a_crashed_swap_left",
        &[],
        &OAUTH_HOSTS,
    ) {
        return;
    }
    let rig = Rig::new(Sandbox::ready());
    let endpoint = TokenEndpoint::start(&rig.sb.root().join("pki"));
    expire(&rig, "a");
    rig.sb.interrupted_swap("b");
    let left = lock_entries(&rig, "a");
    assert_eq!(
        left,
        [
            ".oauth_refresh.lock",
            ".oauth_refresh.lock.owner",
            "../home-a.lock"
        ],
        "what the crash left"
    );
    let env: Vec<(String, String)> = endpoint.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let start = std::time::Instant::now();
    let r = rig.claude_with_env(&rig.sb.home("a"), &env, &["-p", "after the crash"]);
    let took = start.elapsed();
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(endpoint.token_calls().len(), 1, "{:#?}", endpoint.calls());
    assert_eq!(oauth(&rig, "a")["refreshToken"], "refresh-a-r1");
    assert_eq!(
        rig.api.call_for("after the crash").token.as_deref(),
        Some("token-a-r1")
    );
    assert!(
        lock_entries(&rig, "a").is_empty(),
        "{:?}",
        lock_entries(&rig, "a")
    );
    claude::hooks::report(&format!(
        "a refresh lock left by a killed swap was taken over by Claude Code after {took:.1?}; it refreshed"
    ));
}
