//! The grid: one row per account, one column per required link, each cell
//! coloured by its state (class `state-<name>`) and saying the state's
//! name in text, so that colour is never the only sign (a text browser, a
//! colour-blind reader). The paths are in the cell's title and, for a link
//! that is not `ok`, on a line of the cell.

use crate::http::page::escape::{esc, esc_path};
use crate::links::{AccountReport, LinkReport, LinkState};
use crate::ops::status::StatusDocument;

/// The accounts × links table, with a key to its colours.
pub(crate) fn grid_section(doc: &StatusDocument) -> String {
    let columns = link_names(&doc.accounts);
    let mut html = String::from(
        "<section id=\"links\">\n<h2>Accounts and links</h2>\n\
         <div class=\"scroll\"><table class=\"grid\">\n<thead><tr><th scope=\"col\">account</th>",
    );
    for name in &columns {
        html.push_str(&format!("<th scope=\"col\">{}</th>", esc(name)));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for account in &doc.accounts {
        html.push_str(&row(account, &columns, doc.active.as_deref()));
    }
    html.push_str("</tbody>\n</table></div>\n");
    html.push_str(KEY);
    html.push_str("</section>\n");
    html
}

/// What the colours mean, in the order of the contract's states.
const KEY: &str = "<p class=\"key\"><span class=\"chip state-ok\">ok</span> linked right · \
<span class=\"chip state-missing\">missing</span> <span class=\"chip state-target_missing\">target_missing</span> \
<code>homeswap ensure</code> fixes them · \
<span class=\"chip state-divergent\">divergent</span> <span class=\"chip state-not_a_link\">not_a_link</span> \
<span class=\"chip state-home_missing\">home_missing</span> <span class=\"chip state-error\">error</span> \
need a person (see Problems)</p>\n";

/// Every link name, in the order the accounts list them.
fn link_names(accounts: &[AccountReport]) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for l in accounts.iter().flat_map(|a| &a.links) {
        if !names.contains(&l.link.as_str()) {
            names.push(&l.link);
        }
    }
    names
}

/// One account's row.
fn row(account: &AccountReport, columns: &[&str], active: Option<&str>) -> String {
    let tag = if active == Some(account.account.as_str()) {
        " <span class=\"tag\">active</span>"
    } else {
        ""
    };
    let mut html = format!(
        "<tr><th scope=\"row\"><span class=\"account\">{}</span>{tag}<br><small>{}</small></th>",
        esc(&account.account),
        esc_path(&account.home)
    );
    for name in columns {
        match account.links.iter().find(|l| l.link == *name) {
            Some(link) => html.push_str(&cell(link)),
            None => html.push_str(&format!(
                "<td class=\"state\" data-link=\"{}\">-</td>",
                esc(name)
            )),
        }
    }
    html.push_str("</tr>\n");
    html
}

/// One link's cell: mark, state name, and what is wrong on its own line.
fn cell(link: &LinkReport) -> String {
    let state = link.state.as_str();
    let title = match link.state {
        LinkState::Ok => format!("{} → {}", esc_path(&link.path), esc_path(&link.expected)),
        _ => esc(link).to_string(),
    };
    let detail = match detail(link) {
        Some(d) => format!("<br><small>{d}</small>"),
        None => String::new(),
    };
    format!(
        "<td class=\"state state-{state}\" data-link=\"{}\" title=\"{title}\">\
         <span class=\"mark\" aria-hidden=\"true\">{}</span> <span class=\"name\">{state}</span>{detail}</td>",
        esc(&link.link),
        mark(link.state)
    )
}

/// A sign beside the state name: right, fixable by `ensure`, or not.
fn mark(state: LinkState) -> &'static str {
    match state {
        LinkState::Ok => "✓",
        LinkState::Missing | LinkState::TargetMissing => "!",
        LinkState::Divergent | LinkState::NotALink | LinkState::HomeMissing | LinkState::Error => {
            "✗"
        }
    }
}

/// The short line under a state that is not `ok`: the path that matters.
fn detail(link: &LinkReport) -> Option<String> {
    Some(match link.state {
        LinkState::Ok => return None,
        LinkState::Missing => format!("nothing at {}", esc_path(&link.path)),
        LinkState::TargetMissing => format!("{} is absent", esc_path(&link.expected)),
        LinkState::Divergent => match &link.points_to {
            Some(p) => format!("→ {}", esc_path(p)),
            None => format!("expected → {}", esc_path(&link.expected)),
        },
        LinkState::NotALink => format!(
            "{} at {}",
            esc(link.detail.as_deref().unwrap_or("not a link")),
            esc_path(&link.path)
        ),
        LinkState::HomeMissing => match link.path.parent() {
            Some(home) => format!("no home at {}", esc_path(home)),
            None => "no home".to_string(),
        },
        LinkState::Error => esc(link.detail.as_deref().unwrap_or("unknown error")).to_string(),
    })
}
