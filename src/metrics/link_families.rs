//! The per-link and per-account gauge families (`homeswap_active_account`,
//! `homeswap_credentials_duplicated`, `homeswap_link_healthy`,
//! `homeswap_link_state`, `homeswap_unmanaged_entries`), written straight into
//! the exposition text instead of living in the registry.
//!
//! At 1,000 accounts they are 25,000 series, which as registry entries cost
//! tens of megabytes and a rebuild of every series per validation. They are
//! kept as the last validation's states ([`LinkSeries`]) and written in the
//! text the registry's encoder would give them: same HELP, TYPE, label order
//! and series order (a test below pins that against the registry).

use std::fmt::Write as _;

use crate::links::validate::ValidationReport;
use crate::links::LinkState;

/// Every link state, sorted by its name as the exposition sorts series.
const STATES_BY_NAME: [LinkState; 7] = [
    LinkState::Divergent,
    LinkState::Error,
    LinkState::HomeMissing,
    LinkState::Missing,
    LinkState::NotALink,
    LinkState::Ok,
    LinkState::TargetMissing,
];

/// The states behind the link and account gauges, in exposition order.
#[derive(Debug, Default)]
pub(super) struct LinkSeries {
    /// (account, link, state), sorted by account, then link.
    links: Vec<(String, String, LinkState)>,
    /// (account, whether the active link points at it), sorted by account.
    accounts: Vec<(String, bool)>,
    /// (account, its unmanaged entries), sorted by account.
    unmanaged: Vec<(String, usize)>,
    /// (account, whether its home holds another home's refresh token),
    /// sorted by account.
    duplicated: Vec<(String, bool)>,
}

impl LinkSeries {
    /// Name and help of each family, sorted by name.
    pub(super) const FAMILIES: [(&'static str, &'static str); 5] = [
        (
            "homeswap_active_account",
            "1 for the account the active link points at, 0 for the others.",
        ),
        (
            "homeswap_credentials_duplicated",
            "1 when the account's home holds the same OAuth refresh token as another configured home (compared by digest), else 0.",
        ),
        (
            "homeswap_link_healthy",
            "1 when the shared link is ok, else 0.",
        ),
        (
            "homeswap_link_state",
            "Stateset: 1 for the shared link's current state, 0 for each other state.",
        ),
        (
            "homeswap_unmanaged_entries",
            "Entries of the account's home that are neither shared nor private.",
        ),
    ];

    /// The series of one validation; accounts or links no longer
    /// configured are simply not in it.
    pub(super) fn from_report(report: &ValidationReport, accounts: &[String]) -> LinkSeries {
        let mut links: Vec<(String, String, LinkState)> = report
            .accounts
            .iter()
            .flat_map(|a| a.links.iter())
            .map(|l| (l.account.clone(), l.link.clone(), l.state))
            .collect();
        links.sort_by(|x, y| (&x.0, &x.1).cmp(&(&y.0, &y.1)));
        let mut accounts: Vec<(String, bool)> = accounts
            .iter()
            .map(|a| {
                let active = report.active.account.as_deref() == Some(a.as_str());
                (a.clone(), active)
            })
            .collect();
        accounts.sort();
        let mut unmanaged: Vec<(String, usize)> = report
            .accounts
            .iter()
            .map(|a| (a.account.clone(), a.unmanaged.len()))
            .collect();
        unmanaged.sort();
        let mut duplicated: Vec<(String, bool)> = report
            .accounts
            .iter()
            .map(|a| {
                let dup = report.credentials.is_duplicated(&a.account);
                (a.account.clone(), dup)
            })
            .collect();
        duplicated.sort();
        LinkSeries {
            links,
            accounts,
            unmanaged,
            duplicated,
        }
    }

    /// A guess of the encoded size, so the exposition buffer is allocated once.
    pub(super) fn encoded_size_hint(&self) -> usize {
        self.links.len() * 600
    }

    /// Writes one family as the text encoder would; nothing when it has
    /// no series yet.
    pub(super) fn write_family(&self, name: &str, buf: &mut Vec<u8>) {
        let help = LinkSeries::FAMILIES
            .iter()
            .find(|f| f.0 == name)
            .map_or("", |f| f.1);
        let mut out = String::new();
        let head = |out: &mut String| {
            let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n");
        };
        match name {
            "homeswap_active_account" if !self.accounts.is_empty() => {
                head(&mut out);
                for (account, active) in &self.accounts {
                    let _ = writeln!(
                        out,
                        "{name}{{account=\"{}\"}} {}",
                        Escaped(account),
                        u8::from(*active)
                    );
                }
            }
            "homeswap_link_healthy" if !self.links.is_empty() => {
                head(&mut out);
                for (account, link, state) in &self.links {
                    let _ = writeln!(
                        out,
                        "{name}{{account=\"{}\",link=\"{}\"}} {}",
                        Escaped(account),
                        Escaped(link),
                        u8::from(*state == LinkState::Ok)
                    );
                }
            }
            "homeswap_link_state" if !self.links.is_empty() => {
                head(&mut out);
                for (account, link, state) in &self.links {
                    for s in STATES_BY_NAME {
                        let _ = writeln!(
                            out,
                            "{name}{{account=\"{}\",link=\"{}\",state=\"{}\"}} {}",
                            Escaped(account),
                            Escaped(link),
                            s.as_str(),
                            u8::from(*state == s)
                        );
                    }
                }
            }
            "homeswap_credentials_duplicated" if !self.duplicated.is_empty() => {
                head(&mut out);
                for (account, dup) in &self.duplicated {
                    let _ = writeln!(
                        out,
                        "{name}{{account=\"{}\"}} {}",
                        Escaped(account),
                        u8::from(*dup)
                    );
                }
            }
            "homeswap_unmanaged_entries" if !self.unmanaged.is_empty() => {
                head(&mut out);
                for (account, count) in &self.unmanaged {
                    let _ = writeln!(out, "{name}{{account=\"{}\"}} {count}", Escaped(account));
                }
            }
            _ => {}
        }
        buf.extend_from_slice(out.as_bytes());
    }
}

/// A label value escaped as the text format wants (`\\`, `\"`, `\n`).
struct Escaped<'a>(&'a str);

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for c in self.0.chars() {
            match c {
                '\\' => f.write_str("\\\\")?,
                '"' => f.write_str("\\\"")?,
                '\n' => f.write_str("\\n")?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use prometheus::{IntGaugeVec, Opts, Registry, TextEncoder};

    use super::*;
    use crate::metrics::Metrics;

    /// The link families as registry metrics encode them (the code they
    /// replaced), to pin that the hand-written text is the same.
    fn as_registry_metrics(report: &ValidationReport, accounts: &[String]) -> String {
        let registry = Registry::new();
        let vec = |name: &str, labels: &[&str]| {
            let help = LinkSeries::FAMILIES.iter().find(|f| f.0 == name).unwrap().1;
            let v = IntGaugeVec::new(Opts::new(name, help), labels).unwrap();
            registry.register(Box::new(v.clone())).unwrap();
            v
        };
        let healthy = vec("homeswap_link_healthy", &["account", "link"]);
        let state = vec("homeswap_link_state", &["account", "link", "state"]);
        let active = vec("homeswap_active_account", &["account"]);
        let unmanaged = vec("homeswap_unmanaged_entries", &["account"]);
        let duplicated = vec("homeswap_credentials_duplicated", &["account"]);
        for a in &report.accounts {
            unmanaged
                .with_label_values(&[&a.account])
                .set(a.unmanaged.len() as i64);
            duplicated
                .with_label_values(&[&a.account])
                .set(i64::from(report.credentials.is_duplicated(&a.account)));
        }
        for a in &report.accounts {
            for l in &a.links {
                healthy
                    .with_label_values(&[&a.account, &l.link])
                    .set(i64::from(l.state == LinkState::Ok));
                for s in LinkState::ALL {
                    state
                        .with_label_values(&[&a.account, &l.link, s.as_str()])
                        .set(i64::from(l.state == s));
                }
            }
        }
        for name in accounts {
            let on = report.active.account.as_deref() == Some(name.as_str());
            active.with_label_values(&[name]).set(i64::from(on));
        }
        TextEncoder::new()
            .encode_to_string(&registry.gather())
            .unwrap()
    }

    #[test]
    fn link_families_are_written_exactly_as_the_registry_would() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mut yaml = String::from("accounts:\n");
        for name in ["b", "a", "c-1", "a_2"] {
            std::fs::create_dir(root.join(name)).unwrap();
            yaml.push_str(&format!("  {name}: {}\n", root.join(name).display()));
        }
        yaml.push_str(&format!(
            "active_link: {}\nshared_dir: {}\nstate_dir: {}\n",
            root.join("active").display(),
            root.join("shared").display(),
            root.join("state").display()
        ));
        let config = crate::config::Config::parse(&root.join("c.yaml"), &yaml).unwrap();
        crate::links::ensure_account("a", &root.join("a"), &config.shared, false);
        std::fs::write(root.join("b").join("projects"), b"x").unwrap();
        std::os::unix::fs::symlink("/elsewhere", root.join("b").join("session-env")).unwrap();
        std::os::unix::fs::symlink(root.join("a"), root.join("active")).unwrap();
        std::fs::remove_dir(root.join("c-1")).unwrap();
        std::fs::create_dir(root.join("a").join("todos")).unwrap();
        let report = crate::links::validate::validate_all(&config);
        let accounts: Vec<String> = config.accounts.keys().cloned().collect();

        let m = Metrics::new().unwrap();
        m.observe_validation(&report, &accounts, Duration::from_millis(1));
        let ours = String::from_utf8(m.encode_now()).unwrap();
        let expected = as_registry_metrics(&report, &accounts);
        for family in LinkSeries::FAMILIES.map(|f| f.0) {
            let pick = |text: &str| -> Vec<String> {
                text.lines()
                    .filter(|l| l.split([' ', '{']).any(|w| w == family))
                    .map(str::to_string)
                    .collect()
            };
            assert!(!pick(&expected).is_empty(), "{family}");
            assert_eq!(pick(&ours), pick(&expected), "{family}");
        }
        // And the families keep their place in the name order.
        let names: Vec<&str> = ours
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .map(|l| l.split(' ').next().unwrap())
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }

    #[test]
    fn before_the_first_validation_no_link_series_are_written() {
        let text = String::from_utf8(Metrics::new().unwrap().encode_now()).unwrap();
        assert!(!text.contains("homeswap_link_"), "{text}");
        assert!(text.contains("homeswap_build_info{version="), "{text}");
    }
}
