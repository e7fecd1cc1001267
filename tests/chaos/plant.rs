//! Planting: real directories and files where an inactive account's
//! links belong, as a person or an older Claude Code leaves them, for
//! `adopt` to take in. Every line and every file planted is expected to
//! survive somewhere (kept-both copies allowed).

use std::path::Path;

use super::model::Model;
use super::users::line;
use super::world::World;

/// Replaces each of `links` of `account` by a real directory (transcript
/// lines, a file of random bytes) or a real `history.jsonl` (new lines; with
/// `conflict`, copies of lines the shared one holds, and for directories
/// a file whose name the shared target already has with other bytes).
pub fn plant(world: &World, model: &mut Model, account: &str, links: &[&str], conflict: bool) {
    let shared = world.s.shared();
    for name in links {
        let at = world.s.link(account, name);
        if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            std::fs::remove_file(&at).unwrap();
        } else if std::fs::symlink_metadata(&at).is_ok() {
            continue; // planted already
        }
        // From here on the link is gone: planted, whatever the disk lets
        // the rest become.
        model.planted(account, name, Vec::new());
        let k = model.next_id();
        let ids: Vec<String> = (0..3).map(|i| format!("p{k}-{i}")).collect();
        let text: String = ids.iter().map(|id| line(id, "planted") + "\n").collect();
        let written = if *name == "history.jsonl" {
            let mut text = text;
            if conflict {
                text.push_str(&copies_of_shared_lines(&shared.join(name)));
            }
            std::fs::write(&at, text)
        } else {
            plant_dir(&at, &shared.join(name), k, &text, conflict, model)
        };
        match written {
            Ok(()) => model.lines.extend(ids),
            Err(e) => model.step(format!("  plant {account}/{name}: {e} (disk full?)")),
        }
    }
}

fn plant_dir(
    at: &Path,
    shared: &Path,
    k: u64,
    transcript: &str,
    conflict: bool,
    model: &mut Model,
) -> std::io::Result<()> {
    let sub = at.join(format!("chaos-planted-{k}"));
    std::fs::create_dir_all(&sub)?;
    std::fs::write(sub.join(format!("session-{k}.jsonl")), transcript)?;
    let blob = random_bytes(k, 200 + (k % 300) as usize);
    std::fs::write(at.join(format!("blob-{k}.bin")), &blob)?;
    model.expect_content(&blob);
    if conflict {
        // The same name in the shared target, other bytes: kept both.
        let theirs = random_bytes(k ^ 0x5555, 100);
        let ours = random_bytes(k ^ 0xaaaa, 120);
        std::fs::create_dir_all(shared)?;
        std::fs::write(shared.join(format!("conflict-{k}.txt")), &theirs)?;
        std::fs::write(at.join(format!("conflict-{k}.txt")), &ours)?;
        model.expect_content(&theirs);
        model.expect_content(&ours);
    }
    Ok(())
}

/// Two lines the shared file holds already (a merge must not repeat them).
fn copies_of_shared_lines(shared: &Path) -> String {
    let text = std::fs::read_to_string(shared).unwrap_or_default();
    text.lines()
        .filter(|l| l.contains("\"chaos\""))
        .take(2)
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Bytes from a small generator of their own (the content is what counts).
fn random_bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
