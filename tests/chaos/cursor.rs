//! Where the check is in the audit log: the bytes already read, so that
//! each round reads only what was appended since.
//!
//! A line without its newline is either still being written (a request of
//! a killed client, finishing in the sidecar: read next round) or a whole
//! record whose newline a full disk cut off (one `write` of record and
//! newline, stopped short at the page it could not get). The next writer
//! then starts its own line with a newline (`state::audit::append`), so
//! that record would become a line of a later round, under a pid that ran
//! nothing then. Such a tail that parses is taken in the round it was
//! written, and the newline that later ends it is skipped.

use serde_json::Value;

#[derive(Debug)]
pub struct Cursor {
    /// Bytes of the log already read.
    seen: usize,
    /// The last record read had no newline yet.
    unended: bool,
}

/// What one [`Cursor::read`] found.
#[derive(Debug, Default)]
pub struct Read {
    pub records: Vec<Value>,
    /// Lines that are not JSON, and not what a full disk cut short.
    pub bad: Vec<String>,
    /// Whether the last record was taken without its newline.
    pub unended: bool,
}

impl Cursor {
    /// A cursor past the `len` bytes the log has now.
    pub fn at(len: usize) -> Cursor {
        Cursor {
            seen: len,
            unended: false,
        }
    }

    /// The records in `log` (the whole file) after what was read before;
    /// `disk_faults`: whether a full disk may have cut a write short.
    pub fn read(&mut self, log: &[u8], disk_faults: bool) -> Read {
        let mut new = log.get(self.seen..).unwrap_or_default();
        if self.unended && new.first() == Some(&b'\n') {
            new = &new[1..];
            self.seen += 1;
            self.unended = false;
        }
        // Whole lines (each with its newline), then what follows the last.
        let ended = new.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let (complete, tail) = new.split_at(ended);
        let mut read = Read::default();
        for l in complete.split_inclusive(|&b| b == b'\n') {
            let l = String::from_utf8_lossy(l.strip_suffix(b"\n").unwrap_or(l));
            match serde_json::from_str::<Value>(&l) {
                Ok(r) => read.records.push(r),
                // What a full disk cut short: one garbage line, alone.
                Err(_) if disk_faults && !l.contains("}{") => {}
                Err(e) => read.bad.push(format!("audit line is not JSON ({e}): {l}")),
            }
        }
        self.seen += complete.len();
        match serde_json::from_slice::<Value>(tail) {
            Ok(r) if disk_faults && r.is_object() => {
                read.records.push(r);
                self.seen += tail.len();
                self.unended = true;
                read.unended = true;
            }
            _ => {}
        }
        read
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = r#"{"action":"swap","pid":1}"#;
    const B: &str = r#"{"action":"attribution","pid":2}"#;
    const C: &str = r#"{"action":"swap","pid":3}"#;

    fn pids(r: &Read) -> Vec<u64> {
        r.records
            .iter()
            .map(|r| r["pid"].as_u64().unwrap())
            .collect()
    }

    #[test]
    fn a_record_whose_newline_a_full_disk_cut_off_counts_in_its_own_round_once() {
        let mut c = Cursor::at(0);
        let mut log = format!("{A}\n{B}");
        let r = c.read(log.as_bytes(), true);
        assert_eq!(pids(&r), [1, 2]);
        assert!(r.unended && r.bad.is_empty());
        // The next writer starts its line with a newline.
        log.push_str(&format!("\n{C}\n"));
        let r = c.read(log.as_bytes(), true);
        assert_eq!(pids(&r), [3], "pid 2 is not read again a round later");
        assert!(r.bad.is_empty() && !r.unended);
        assert!(c.read(log.as_bytes(), true).records.is_empty());
    }

    #[test]
    fn a_line_still_being_written_waits_for_its_newline() {
        let mut c = Cursor::at(0);
        let mut log = format!("{A}\n{}", &B[..10]);
        assert_eq!(pids(&c.read(log.as_bytes(), true)), [1]);
        log.push_str(&format!("{}\n", &B[10..]));
        assert_eq!(pids(&c.read(log.as_bytes(), false)), [2]);
    }

    #[test]
    fn without_disk_faults_an_unended_record_waits_and_garbage_is_reported() {
        let mut c = Cursor::at(0);
        let log = format!("{A}\nnot json\n{B}");
        let r = c.read(log.as_bytes(), false);
        assert_eq!(pids(&r), [1]);
        assert_eq!(r.bad.len(), 1, "{:?}", r.bad);
        let log = format!("{log}\n");
        assert_eq!(pids(&c.read(log.as_bytes(), false)), [2]);
    }

    #[test]
    fn what_a_full_disk_cut_short_is_one_garbage_line_alone() {
        let mut c = Cursor::at(A.len() + 1);
        let log = format!("{A}\n{}\n{C}\n", &B[..7]);
        let r = c.read(log.as_bytes(), true);
        assert_eq!(pids(&r), [3]);
        assert!(r.bad.is_empty());
        let glued = format!("{A}{C}\n");
        let r = Cursor::at(0).read(glued.as_bytes(), true);
        assert_eq!(r.bad.len(), 1, "two records on one line are a fault");
    }
}
