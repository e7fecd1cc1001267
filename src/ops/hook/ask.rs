//! Asking a running sidecar to fail over, for the hook and the status
//! line: what they need of it ([`AskSidecar`]: the CLI hands them the HTTP
//! client, `http::client`, since nothing in `ops` knows HTTP), and what it
//! answered ([`Answer`]), checked before anything of it is believed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::Config;
use crate::fs::pathfmt::shown;
use crate::ops::failover::{FailoverOutcome, FailoverRequest};

/// A sidecar reached over `serve.admin.socket`.
pub(crate) trait AskSidecar {
    /// POSTs `req` (its `until` as the limit's end; a message is not sent)
    /// to `/api/v1/failover` on `socket`. The whole call, connecting
    /// included, ends within `budget`, whatever the peer does.
    fn failover(
        &self,
        socket: &Path,
        req: &FailoverRequest,
        budget: Duration,
    ) -> Result<Answer, AskError>;
}

/// What the sidecar answered, in the API's documented shapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// 200: it failed over, or found the event handled already.
    Done {
        /// `swapped` or `already_moved`.
        outcome: FailoverOutcome,
        /// The account active now.
        active: Option<String>,
        /// The account failed over from.
        from: Option<String>,
        /// What was decided and why, one sentence each.
        notes: Vec<String>,
    },
    /// An error answer: the failover did not happen there.
    Refused {
        /// The HTTP status.
        status: u16,
        /// The answer's fixed word (`exhausted`, `busy`, ...).
        outcome: String,
        /// Its message.
        error: String,
        /// Its individual errors.
        errors: Vec<String>,
    },
}

/// An answer that names only configured accounts: made only by
/// [`Answer::checked`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checked(Answer);

impl Checked {
    /// The answer itself.
    pub(crate) fn into_answer(self) -> Answer {
        self.0
    }
}

impl Answer {
    /// The answer when every account it names is configured; else why it
    /// cannot be believed (the caller then fails over itself).
    pub(crate) fn checked(self, config: &Config, socket: &Path) -> Result<Checked, AskError> {
        if let Answer::Done { active, from, .. } = &self {
            let unknown = [active, from]
                .into_iter()
                .flatten()
                .find(|a| config.home(a).is_none());
            if let Some(a) = unknown {
                return Err(AskError::NoAnswer {
                    path: socket.to_path_buf(),
                    why: format!(
                        "its answer names {:?}, which is not a configured account",
                        a
                    ),
                });
            }
        }
        Ok(Checked(self))
    }
}

/// Why the sidecar could not be asked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AskError {
    /// Nothing listens on the socket (no file, refused): run the library.
    #[error("no sidecar answers on {}: {source}", shown(path))]
    NotThere {
        /// The socket.
        path: PathBuf,
        /// The connect error.
        source: std::io::Error,
    },
    /// A peer was reached but did not give a usable answer in time.
    #[error("the sidecar on {} did not answer: {why}", shown(path))]
    NoAnswer {
        /// The socket.
        path: PathBuf,
        /// What went wrong.
        why: String,
    },
}
