//! The model: what the harness knows the world should be. The accounts
//! configured (in the file's order) and which of their links may be
//! broken and how (a fresh account's may be `missing`; a planted one's
//! are `not_a_link` until adopted); every line and file that must exist;
//! the sessions and their usage; the steps taken; the counts.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::hash::{Hash, Hasher};

use rand::rngs::StdRng;
use rand::RngExt;

use super::cursor::Cursor;
use super::exec::{Done, End};
use super::ops::Op;
use super::world::World;

/// One configured account as the model sees it.
#[derive(Debug, Clone)]
pub struct Account {
    pub name: String,
    /// Added by a reload and not yet seen all `ok`: links may be missing.
    pub fresh: bool,
    /// Links planted (real directories or files) and not yet seen `ok`.
    pub planted: BTreeSet<String>,
}

/// The counts a run reports.
#[derive(Debug, Default)]
pub struct Stats {
    pub rounds: u64,
    pub ops: u64,
    /// SIGKILLs that landed in a running homeswap process (sidecar too).
    pub kills: u64,
    pub sidecar_kills: u64,
    pub sidecar_restarts: u64,
    pub by_kind: BTreeMap<&'static str, u64>,
    pub exits: BTreeMap<String, u64>,
    pub lines_written: u64,
    pub planted: u64,
    pub adopted: u64,
    pub reloads: u64,
    pub latched: u64,
    pub recoveries: u64,
    pub inits: u64,
    /// Flips whose audit record a kill prevented (see RELIABILITY.md).
    pub unrecorded_flips: u64,
    /// Limits recorded by a failover killed before its audit record.
    pub unrecorded_limits: u64,
    pub disk_faults: u64,
    /// Records a full disk left without their newline (`cursor.rs`).
    pub unended_records: u64,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ops, {} kills ({} of the sidecar, {} restarts), {} lines written, {} plants, {} adopted, {} reloads, {} latched, {} recoveries, {} inits, {} disk faults ({} records left unended), {} flips and {} limits left unrecorded by a kill; ops {:?}; ends {:?}",
            self.ops,
            self.kills,
            self.sidecar_kills,
            self.sidecar_restarts,
            self.lines_written,
            self.planted,
            self.adopted,
            self.reloads,
            self.latched,
            self.recoveries,
            self.inits,
            self.disk_faults,
            self.unended_records,
            self.unrecorded_flips,
            self.unrecorded_limits,
            self.by_kind,
            self.exits
        )
    }
}

/// The harness's knowledge of the world.
pub struct Model {
    pub accounts: Vec<Account>,
    /// The active account seen at the last check.
    pub active: Option<String>,
    /// Ids of every line that must exist (written by a user, or planted).
    pub lines: BTreeSet<String>,
    /// Digests of every file planted that must exist somewhere.
    pub contents: BTreeSet<u64>,
    pub sessions: Vec<String>,
    usage: BTreeMap<String, (u32, u32)>,
    pub steps: Vec<String>,
    pub stats: Stats,
    /// This round's operations, as they ended.
    pub round: Vec<Done>,
    /// Where the check is in the audit log.
    pub audit: Cursor,
    /// Accounts a failover record named as `from` since their last clear.
    pub named: BTreeSet<String>,
    /// The account the audit log's last move names.
    pub expect_active: Option<String>,
    /// Found while changing the world (a reload that did not apply).
    pub violations: Vec<String>,
    /// When each request that could ask the sidecar for a failover was
    /// made, until a record uses it up (`audit.rs`).
    pub credits: std::collections::VecDeque<std::time::Instant>,
    /// A disk fault is in force: writes may fail.
    pub disk_trouble: bool,
    next: u64,
}

impl Model {
    pub fn new(world: &World) -> Model {
        let text = std::fs::read_to_string(&world.s.config).unwrap();
        let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let accounts = doc["accounts"]
            .as_mapping()
            .unwrap()
            .iter()
            .map(|(k, _)| Account {
                name: k.as_str().unwrap().to_string(),
                fresh: false,
                planted: BTreeSet::new(),
            })
            .collect();
        let logged = std::fs::metadata(world.s.state().join("audit.jsonl")).map_or(0, |m| m.len());
        Model {
            accounts,
            active: Some("a".into()),
            lines: BTreeSet::new(),
            contents: BTreeSet::new(),
            sessions: Vec::new(),
            usage: BTreeMap::new(),
            steps: Vec::new(),
            stats: Stats::default(),
            round: Vec::new(),
            audit: Cursor::at(logged as usize),
            named: BTreeSet::new(),
            expect_active: Some("a".into()),
            violations: Vec::new(),
            credits: Default::default(),
            disk_trouble: false,
            next: 0,
        }
    }

    pub fn account_names(&self) -> Vec<String> {
        self.accounts.iter().map(|a| a.name.clone()).collect()
    }

    /// The names sorted, as the status document lists them.
    pub fn sorted_names(&self) -> Vec<String> {
        let mut names = self.account_names();
        names.sort();
        names
    }

    pub fn account(&self, name: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.name == name)
    }

    pub fn account_mut(&mut self, name: &str) -> Option<&mut Account> {
        self.accounts.iter_mut().find(|a| a.name == name)
    }

    pub fn configured(&self, name: &str) -> bool {
        self.account(name).is_some()
    }

    /// Links all ok as far as the model knows.
    pub fn clean(&self, name: &str) -> bool {
        self.account(name)
            .is_some_and(|a| !a.fresh && a.planted.is_empty())
    }

    /// Clean and not active: planting there breaks nothing in use.
    pub fn plantable(&self, name: &str) -> bool {
        self.clean(name) && self.active.as_deref() != Some(name)
    }

    /// Not active and nothing planted: its removal loses nothing.
    pub fn removable(&self, name: &str) -> bool {
        self.active.as_deref() != Some(name)
            && self.account(name).is_some_and(|a| a.planted.is_empty())
    }

    pub fn dirty_accounts(&self) -> Vec<String> {
        self.accounts
            .iter()
            .filter(|a| !a.planted.is_empty())
            .map(|a| a.name.clone())
            .collect()
    }

    pub fn next_id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// A session a SessionStart will announce.
    pub fn new_session(&mut self) -> String {
        let id = format!("s{}", self.next_id());
        self.sessions.push(id.clone());
        id
    }

    /// A known session, or now and then one never announced.
    pub fn pick_session(&mut self, rng: &mut StdRng) -> String {
        if self.sessions.is_empty() || rng.random_bool(0.1) {
            return format!("unknown-{}", self.next_id());
        }
        let n = self.sessions.len();
        self.sessions[rng.random_range(n.saturating_sub(20)..n)].clone()
    }

    /// The session's usage, grown since its last update (a new window
    /// now and then).
    pub fn next_usage(&mut self, rng: &mut StdRng, session: &str) -> (u32, u32) {
        let (five, seven) = self.usage.get(session).copied().unwrap_or((0, 0));
        let five = match five + rng.random_range(0..25) {
            over if over > 100 => rng.random_range(0..30),
            n => n,
        };
        let seven = (seven + rng.random_range(0..8)).min(100);
        self.usage.insert(session.to_string(), (five, seven));
        (five, seven)
    }

    pub fn added(&mut self, name: &str) {
        self.stats.reloads += 1;
        self.accounts.push(Account {
            name: name.to_string(),
            fresh: true,
            planted: BTreeSet::new(),
        });
    }

    pub fn removed(&mut self, name: &str) {
        self.stats.reloads += 1;
        self.accounts.retain(|a| a.name != name);
    }

    pub fn planted(&mut self, account: &str, link: &str, ids: Vec<String>) {
        self.stats.planted += 1;
        self.lines.extend(ids);
        if let Some(a) = self.account_mut(account) {
            a.planted.insert(link.to_string());
        }
    }

    pub fn expect_content(&mut self, bytes: &[u8]) {
        self.contents.insert(digest(bytes));
    }

    pub fn step(&mut self, text: String) {
        self.steps.push(text);
    }

    pub fn violation(&mut self, text: String) {
        self.violations.push(text);
    }

    /// Takes the round's results in: steps, counts, lines written.
    pub fn record(&mut self, round: u64, done: Vec<Done>) {
        self.stats.rounds = round;
        for d in &done {
            *self.stats.by_kind.entry(kind(&d.op)).or_insert(0) += 1;
            let end = match &d.end {
                End::Exit(c) => format!("exit {c}"),
                End::Http(s) => format!("http {s}"),
                End::NoAnswer(_) => "no answer".into(),
                e => format!("{e:?}").to_lowercase(),
            };
            *self
                .stats
                .exits
                .entry(format!("{} {end}", kind(&d.op)))
                .or_insert(0) += 1;
            if d.end == End::Killed {
                self.stats.kills += 1;
            }
            if let Op::KillSidecar { .. } = d.op {
                self.stats.sidecar_kills += 1;
                self.stats.kills += 1;
            }
            if let Op::Init { .. } = d.op {
                self.stats.inits += 1;
            }
            self.stats.ops += match d.op {
                Op::Append { lines, .. } => u64::from(lines),
                _ => 1,
            };
            self.stats.lines_written += d.lines.len() as u64;
            self.lines.extend(d.lines.iter().cloned());
            let pid = d.pid.map(|p| format!(" pid {p}")).unwrap_or_default();
            let detail = match &d.end {
                End::NoAnswer(e) => format!(" ({e})"),
                End::Exit(c) if *c != 0 => format!(" ({})", first_line(&d.stderr)),
                End::Http(s) if *s != 200 => format!(" ({})", first_line(&d.stdout)),
                _ => String::new(),
            };
            self.steps.push(format!(
                "round {round}: {}{pid} -> {end} in {} ms{detail}",
                d.op,
                d.took.as_millis()
            ));
        }
        self.round = done;
    }

    /// Whether a process of this round that could flip the active link
    /// or record a limit was killed before it could write its record.
    pub fn killed_a_writer(&self) -> bool {
        self.round.iter().any(|d| match d.op {
            Op::KillSidecar { .. } => true,
            Op::Swap { .. } | Op::Failover { .. } | Op::Hook { .. } | Op::Statusline { .. } => {
                d.end == End::Killed
            }
            _ => false,
        })
    }
}

/// The kind of an operation, for the counts.
pub fn kind(op: &Op) -> &'static str {
    match op {
        Op::Swap { .. } => "swap",
        Op::AdminSwap { .. } => "admin_swap",
        Op::Failover { .. } => "failover",
        Op::AdminFailover { .. } => "admin_failover",
        Op::Hook { .. } => "hook",
        Op::Statusline { .. } => "statusline",
        Op::Ensure { .. } => "ensure",
        Op::Adopt { .. } => "adopt",
        Op::LatchClear => "latch_clear",
        Op::LimitsClear { .. } => "limits_clear",
        Op::Append { .. } => "append",
        Op::Init { .. } => "init",
        Op::Read { .. } => "read",
        Op::KillSidecar { .. } => "kill_sidecar",
    }
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    line.chars().take(200).collect()
}

/// A file's digest, to find its bytes anywhere.
pub fn digest(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}
