//! The real Claude Code on a homeswap sandbox, end to end.
//!
//! Each scenario runs the pinned Claude Code (`tests/claude/install.sh`)
//! against the stand-in Messages API of `tests/claude/standin.rs`, inside a
//! private network namespace, and asserts what a user would see: which
//! account a request used, whether a conversation continued (the stand-in
//! sees the earlier prompts), where Claude Code's files landed.
//!
//! `#[ignore]`d in a plain `cargo test` (they need root and the client);
//! `.ci/run` installs the client and runs them with
//! `HOMESWAP_CLAUDE_REQUIRED=1 cargo test --test claude_e2e -- --ignored`.
//! Without the client they are skipped with a message saying how to
//! install it.

mod claude;
mod common;

use std::path::Path;
use std::time::Duration;

use claude::tmux::Tmux;
use claude::Rig;
use common::Sandbox;

/// Scenario 1: a conversation on `a`, `homeswap swap b`, then `claude
/// --continue` and `claude --resume ID` carry on the same conversation
/// with `b`'s credential, in one transcript in the shared target.
#[test]
#[ignore = "needs root and Claude Code (bash tests/claude/install.sh); run by .ci/run"]
fn continue_and_resume_after_a_swap_keep_one_conversation() {
    if !claude::isolated("continue_and_resume_after_a_swap_keep_one_conversation") {
        return;
    }
    let rig = Rig::new(Sandbox::ready());
    let first = rig.claude_ok(&["-p", "first on a"]);
    assert!(first.stdout.contains("ANSWER[first on a]"), "{first:?}");
    assert_eq!(rig.api.call_for("first on a").account.as_deref(), Some("a"));

    rig.sb.ok(&["swap", "b"]);
    let cont = rig.claude_ok(&["--continue", "-p", "second on b"]);
    assert!(cont.stdout.contains("ANSWER[second on b]"), "{cont:?}");
    let call = rig.api.call_for("second on b");
    assert_eq!(call.account.as_deref(), Some("b"), "--continue after the swap must use b's credential");
    assert_eq!(
        call.prompts,
        ["first on a", "second on b"],
        "--continue on b must carry the conversation begun on a"
    );

    let transcripts = rig.transcripts();
    assert_eq!(transcripts.len(), 1, "one conversation, one transcript: {transcripts:?}");
    let transcript = &transcripts[0];
    assert!(
        transcript.starts_with(rig.sb.shared().join("projects")),
        "the transcript must live in the shared target: {transcript:?}"
    );
    let id = Rig::session_of(transcript);
    rig.claude_ok(&["--resume", &id, "-p", "third on b"]);
    let call = rig.api.call_for("third on b");
    assert_eq!(call.account.as_deref(), Some("b"));
    assert_eq!(call.prompts, ["first on a", "second on b", "third on b"]);
    assert_eq!(call.session.as_deref(), Some(id.as_str()), "--resume names the conversation");

    assert_eq!(rig.transcripts(), transcripts, "--resume wrote into the same transcript");
    assert!(rig.forked_dirs().is_empty(), "real directories in a home: {:?}", rig.forked_dirs());
    let v = rig.sb.run(&["validate"]);
    assert_eq!(v.code, 0, "validate after Claude Code ran on both accounts: {v:?}");
}

/// Runs a conversation on `a`, moves the active link to `b` (by homeswap
/// when `linked`, by hand otherwise), continues there, and returns the
/// stand-in's record of the continued turn.
fn continue_on_b(rig: &Rig, linked: bool) -> claude::standin::Call {
    rig.claude_ok(&["-p", "started on a"]);
    if linked {
        rig.sb.ok(&["swap", "b"]);
    } else {
        relink(&rig.sb.active(), &rig.sb.home("b"));
    }
    rig.claude_ok(&["--continue", "-p", "continued on b"]);
    rig.api.call_for("continued on b")
}

/// Points the symlink `link` at `target` atomically, as a user's own
/// `ln -sfn` would, without homeswap.
fn relink(link: &Path, target: &Path) {
    let tmp = link.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp).unwrap();
    std::fs::rename(&tmp, link).unwrap();
}

/// Scenario 2: the failure homeswap prevents. With each home's own
/// `projects`, `--continue` on `b` starts a new conversation; through
/// homeswap's links the same steps continue the one begun on `a`.
#[test]
#[ignore = "needs root and Claude Code (bash tests/claude/install.sh); run by .ci/run"]
fn without_shared_links_continue_on_b_forks_the_conversation() {
    if !claude::isolated("without_shared_links_continue_on_b_forks_the_conversation") {
        return;
    }
    // Without homeswap: an active link flipped by hand, no shared links.
    let rig = Rig::new(Sandbox::new());
    relink(&rig.sb.active(), &rig.sb.home("a"));
    let call = continue_on_b(&rig, false);
    assert_eq!(call.account.as_deref(), Some("b"));
    assert_eq!(
        call.prompts,
        ["continued on b"],
        "without shared links b cannot see a's conversation: a new one starts"
    );
    let transcripts = rig.transcripts();
    assert_eq!(transcripts.len(), 2, "the conversation forked into one transcript per home: {transcripts:?}");
    for account in ["a", "b"] {
        assert!(
            transcripts.iter().any(|t| t.starts_with(rig.sb.home(account).join("projects"))),
            "{account} has its own transcript: {transcripts:?}"
        );
    }
    let v = rig.sb.run(&["validate"]);
    assert_eq!(v.code, 1, "validate must report the real projects directories: {v:?}");
    assert!(v.stderr.contains("account b: projects: not_a_link"), "{v:?}");

    // With homeswap: the same steps continue the conversation.
    let rig = Rig::new(Sandbox::ready());
    let call = continue_on_b(&rig, true);
    assert_eq!(call.account.as_deref(), Some("b"));
    assert_eq!(call.prompts, ["started on a", "continued on b"]);
    assert_eq!(rig.transcripts().len(), 1);
}
