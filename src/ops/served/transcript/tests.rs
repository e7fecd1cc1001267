use super::*;

/// Lines in the shape Claude Code 2.1.328 writes them (trimmed to the
/// fields that matter, plus some that do not).
fn user(prompt: &str, at: &str) -> String {
    format!(
        r#"{{"parentUuid":null,"isSidechain":false,"promptId":"{prompt}","type":"user","message":{{"role":"user","content":"hi"}},"uuid":"u-{prompt}","timestamp":"{at}","promptSource":"typed"}}"#
    )
}
fn sent(id: &str, at: &str) -> String {
    format!(
        r#"{{"type":"api-request","sessionId":"s","id":"{id}","timestamp":"{at}","version":"2.1.328","querySource":"repl_main_thread","params":{{"max_tokens":128000}}}}"#
    )
}
fn answer(id: &str, at: &str) -> String {
    format!(
        r#"{{"parentUuid":"x","isSidechain":false,"message":{{"role":"assistant","content":[{{"type":"text","text":"ANSWER"}}]}},"requestId":"req_standin","requestRef":"{id}","type":"assistant","uuid":"a-{id}","timestamp":"{at}"}}"#
    )
}
fn failed(at: &str) -> String {
    format!(
        r#"{{"type":"assistant","message":{{"model":"<synthetic>","role":"assistant","content":[{{"text":"You've hit your 5-hour limit · resets 2:51am (UTC)","type":"text"}}]}},"error":"rate_limit","isApiErrorMessage":true,"apiErrorStatus":429,"timestamp":"{at}"}}"#
    )
}
const NOISE: &str = r#"{"type":"attachment","attachment":{"type":"text","content":"\"api-request\" in a user's text"},"timestamp":"2026-12-02T00:54:21.753Z"}"#;

fn tail(lines: &[String]) -> Tail {
    Tail::parse(lines.join("\n").as_bytes(), false)
}

fn ns(at: &str) -> u64 {
    unix_ns(at).unwrap()
}

#[test]
fn the_failing_request_is_the_last_one_sent_in_the_turn_before_its_error() {
    let t = tail(&[
        user("p1", "2026-12-02T00:54:21.762Z"),
        sent("r1", "2026-12-02T00:54:22.900Z"),
        answer("r1", "2026-12-02T00:54:22.914Z"),
        NOISE.into(),
        user("p2", "2026-12-02T00:54:24.200Z"),
        sent("r2", "2026-12-02T00:54:24.376Z"),
        answer("r2", "2026-12-02T00:54:24.410Z"),
        user("p2", "2026-12-02T00:54:25.300Z"),
        sent("r3", "2026-12-02T00:54:25.559Z"),
        failed("2026-12-02T00:54:25.600Z"),
    ]);
    let r = t.failing_request("p2").unwrap();
    assert_eq!(r.id, "r3");
    assert_eq!(r.sent_ns, ns("2026-12-02T00:54:25.559Z"));
    assert_eq!(t.failing_request("p1"), None, "p2 came after p1");
}

#[test]
fn a_turn_whose_entries_are_not_written_yet_shows_no_failing_request() {
    // An earlier turn failed; this turn's prompt and failure are not
    // written yet (Claude Code writes in batches).
    let earlier = [
        user("p1", "2026-12-02T00:54:21.762Z"),
        sent("r1", "2026-12-02T00:54:22.900Z"),
        failed("2026-12-02T00:54:22.950Z"),
    ];
    assert_eq!(tail(&earlier).failing_request("p2"), None);
    // Its prompt is there, its request and failure are not.
    let mut partial = earlier.to_vec();
    partial.push(user("p2", "2026-12-02T00:54:30.000Z"));
    assert_eq!(tail(&partial).failing_request("p2"), None);
    partial.push(sent("r2", "2026-12-02T00:54:30.100Z"));
    assert_eq!(tail(&partial).failing_request("p2"), None);
    partial.push(failed("2026-12-02T00:54:30.150Z"));
    assert_eq!(tail(&partial).failing_request("p2").unwrap().id, "r2");
}

#[test]
fn a_request_written_before_its_prompts_entry_is_placed_by_time() {
    // The order Claude Code 2.1.328 wrote in an interactive session (seen
    // in CI): the turn's api-request line before the prompt's own entry,
    // stamped after it.
    let t = tail(&[
        user("p2", "2026-12-02T13:14:16.480Z"),
        sent("r2", "2026-12-02T13:14:16.574Z"),
        answer("r2", "2026-12-02T13:14:16.590Z"),
        sent("r3", "2026-12-02T13:14:17.611Z"),
        user("p3", "2026-12-02T13:14:17.572Z"),
        failed("2026-12-02T13:14:17.614Z"),
    ]);
    let r = t.failing_request("p3").unwrap();
    assert_eq!(r.id, "r3");
    assert_eq!(r.sent_ns, ns("2026-12-02T13:14:17.611Z"));
    // A request sent before the prompt (an earlier turn's, cut short with
    // no answer) is never this turn's, wherever it is written.
    let t = tail(&[
        user("p1", "2026-12-02T13:14:16.480Z"),
        sent("r1", "2026-12-02T13:14:16.574Z"),
        user("p2", "2026-12-02T13:14:17.572Z"),
        failed("2026-12-02T13:14:17.614Z"),
    ]);
    assert_eq!(t.failing_request("p2"), None);
}

#[test]
fn a_cut_tail_skips_its_partial_first_line_and_garbage_is_skipped() {
    let mut bytes = b"uest\",\"id\":\"broken\"}\n".to_vec();
    bytes.extend(sent("r1", "2026-12-02T00:54:22.900Z").as_bytes());
    bytes.extend(b"\n\xff\xfe\n{\"type\":\"api-request\",\"id\":7}\n[1,2]\n");
    bytes.extend(b"{\"type\":\"api-request\",\"id\":\"x\",\"timestamp\":\"yesterday\"}\n");
    bytes.extend(answer("r1", "2026-12-02T00:54:22.914Z").as_bytes());
    let t = Tail::parse(&bytes, true);
    let l = t.latest_answered(None).unwrap();
    assert_eq!(l.request.id, "r1");
    assert_eq!(t.entries.len(), 2, "{:?}", t.entries);
}

#[test]
fn the_numbers_come_from_the_newest_answered_request() {
    let mut lines = vec![
        user("p1", "2026-12-02T00:54:21.762Z"),
        sent("r1", "2026-12-02T00:54:22.900Z"),
        answer("r1", "2026-12-02T00:54:22.914Z"),
        sent("r2", "2026-12-02T00:54:24.376Z"),
        answer("r2", "2026-12-02T00:54:24.410Z"),
        // In flight: sent, not answered.
        sent("r3", "2026-12-02T00:54:25.559Z"),
    ];
    let t = tail(&lines);
    let l = t.latest_answered(Some("r1")).unwrap();
    assert_eq!(l.request.id, "r2");
    assert!(l.found_after);
    assert_eq!(l.answered_since, 1);
    let all = t.latest_answered(None).unwrap();
    assert!(!all.found_after);
    assert_eq!(all.answered_since, 2);
    // A failed request's numbers (a 429 moves rate_limits only).
    lines.push(failed("2026-12-02T00:54:25.600Z"));
    let t = tail(&lines);
    let l = t.latest_answered(Some("r2")).unwrap();
    assert_eq!(l.request.id, "r3");
    assert_eq!(l.answered_since, 0, "a failure is no successful answer");
    assert_eq!(
        tail(&[user("p", "2026-12-02T00:54:21.762Z")]).latest_answered(None),
        None
    );
}

#[test]
fn only_the_sessions_own_file_under_a_projects_tree_is_plausible() {
    let roots = [
        PathBuf::from("/h/active/projects"),
        PathBuf::from("/h/shared/projects"),
    ];
    let ok = Path::new("/h/active/projects/-w/s1.jsonl");
    assert!(plausible(ok, "s1", &roots));
    for bad in [
        "/h/active/projects/-w/s2.jsonl",
        "/h/active/projects/../../etc/s1.jsonl",
        "/h/active/projects/./s1.jsonl",
        "relative/projects/s1.jsonl",
        "/etc/s1.jsonl",
        "/h/active/projectsX/s1.jsonl",
        "/h/active/projects",
    ] {
        assert!(!plausible(Path::new(bad), "s1", &roots), "{bad}");
    }
}
