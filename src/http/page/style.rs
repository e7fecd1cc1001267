//! The page's CSS, inline so the page needs no other file. Light and dark
//! by `prefers-color-scheme`; on a narrow screen the grid's rows become
//! cards, each cell labelled with its link's name. Without CSS (a text
//! browser) the page is plain headings, lists and tables; a usage bar is
//! then its text (`5h 42%`), the bar itself being decoration.

/// The stylesheet.
pub(crate) const CSS: &str = r#":root {
  --bg: #f6f7f9; --fg: #1b1f24; --muted: #5b6470; --card: #ffffff; --line: #d5d9e0;
  --good: #116329; --warn: #7a5200; --bad: #b3261e;
  --ok-bg: #dcf5e3; --ok-fg: #0f5223; --ok-edge: #2da44e;
  --fix-bg: #fff3cd; --fix-fg: #5c4300; --fix-edge: #d4a017;
  --bad-bg: #ffe0de; --bad-fg: #8a1c14; --bad-edge: #d1242f;
  --home-bg: #efe2ff; --home-fg: #4f2a85; --home-edge: #8250df;
  --err-bg: #f3d6e6; --err-fg: #7d1650; --err-edge: #bf3989;
  --latch-bg: #b3261e; --latch-fg: #ffffff;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1216; --fg: #e3e7ec; --muted: #9aa4b0; --card: #171b21; --line: #2e353f;
    --good: #5fd37f; --warn: #f0c552; --bad: #ff7b72;
    --ok-bg: #123821; --ok-fg: #9be9b1; --ok-edge: #2ea043;
    --fix-bg: #3d2f05; --fix-fg: #f5d77a; --fix-edge: #d29922;
    --bad-bg: #4a1613; --bad-fg: #ffb4ad; --bad-edge: #f85149;
    --home-bg: #2f1f4d; --home-fg: #d2b8ff; --home-edge: #a371f7;
    --err-bg: #45152f; --err-fg: #f7b3d8; --err-edge: #db61a2;
    --latch-bg: #8e1b14; --latch-fg: #ffffff;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 76rem; margin: 0 auto; padding: 1rem; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .25rem 1rem; }
h1 { font-size: 1.5rem; margin: .25rem 0; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
h3 { font-size: 1rem; margin: 1rem 0 .25rem; }
code, small, .detail { overflow-wrap: anywhere; }
code { font: .9em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
a { color: inherit; }
.good { color: var(--good); } .warn { color: var(--warn); } .bad { color: var(--bad); }
.muted, footer { color: var(--muted); }
.verdict { margin: 0; padding: .15rem .6rem; border-radius: 1rem; font-size: .95rem; }
.verdict-ok { background: var(--ok-bg); color: var(--ok-fg); }
.verdict-bad { background: var(--bad-bg); color: var(--bad-fg); }
.banner { border-radius: .5rem; padding: .75rem 1rem; margin: 1rem 0; }
.banner-latch { background: var(--latch-bg); color: var(--latch-fg); }
.banner-latch h2 { margin-top: 0; font-size: 1.2rem; }
.banner-latch code { background: rgba(0,0,0,.25); padding: 0 .25rem; border-radius: .2rem; }
.banner ul { margin: .25rem 0; padding-left: 1.25rem; }
.summary dl { display: grid; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr));
  gap: .5rem; margin: 1rem 0; }
.summary dl > div { background: var(--card); border: 1px solid var(--line); border-radius: .5rem;
  padding: .5rem .75rem; min-width: 0; }
.summary dd small { display: block; color: var(--muted); font-size: .8rem; }
.summary .bad { color: var(--bad); }
dt { color: var(--muted); font-size: .85rem; }
dd { margin: 0; overflow-wrap: anywhere; }
.account { font-weight: 600; }
.scroll { overflow-x: auto; }
table { border-collapse: separate; border-spacing: 0; width: 100%; background: var(--card);
  border: 1px solid var(--line); border-radius: .5rem; }
th, td { padding: .5rem .6rem; text-align: left; vertical-align: top; border-top: 1px solid var(--line); }
thead th { border-top: 0; color: var(--muted); font-weight: 600; font-size: .85rem; }
tbody th small, td small { display: block; font-size: .8rem; opacity: .85; }
tbody th small { color: var(--muted); font-weight: normal; }
.tag { font-size: .75rem; font-weight: 600; padding: 0 .4rem; border-radius: .6rem;
  background: var(--ok-edge); color: #fff; vertical-align: .1em; }
table.grid { table-layout: fixed; }
.grid thead th:first-child { width: 24%; }
td.state { border-left: .3rem solid transparent; min-width: 8rem; }
.state .name { font-weight: 600; }
.state-ok { background: var(--ok-bg); color: var(--ok-fg); border-left-color: var(--ok-edge) !important; }
.state-missing, .state-target_missing { background: var(--fix-bg); color: var(--fix-fg);
  border-left-color: var(--fix-edge) !important; }
.state-divergent, .state-not_a_link { background: var(--bad-bg); color: var(--bad-fg);
  border-left-color: var(--bad-edge) !important; }
.state-home_missing { background: var(--home-bg); color: var(--home-fg); border-left-color: var(--home-edge) !important; }
.state-error { background: var(--err-bg); color: var(--err-fg); border-left-color: var(--err-edge) !important; }
.key { font-size: .85rem; color: var(--muted); line-height: 2; }
.chip { padding: .05rem .4rem; border-radius: .3rem; border-left: .25rem solid; }
.audit td { font-size: .9rem; }
.fleet td small { display: block; color: var(--muted); }
.audit td:first-child { white-space: nowrap; }
.audit th:last-child { width: 35%; }
ul.usage { list-style: none; padding: 0; margin: .5rem 0; display: grid; gap: .5rem;
  grid-template-columns: repeat(auto-fit, minmax(17rem, 1fr)); }
.usage-account { background: var(--card); border: 1px solid var(--line); border-left: .3rem solid var(--ok-edge);
  border-radius: .5rem; padding: .5rem .75rem; min-width: 0; }
.usage-account.usage-high { border-left-color: var(--bad-edge); }
.usage-head { overflow-wrap: anywhere; margin-bottom: .2rem; }
.usage-head small { font-size: .8rem; }
.usage-window { display: flex; flex-wrap: wrap; align-items: center; gap: .1rem .6rem; margin: .3rem 0; }
.usage-label { min-width: 4.5rem; white-space: nowrap; font-variant-numeric: tabular-nums; }
.usage-flag { font-size: .85rem; white-space: nowrap; }
.usage-window.usage-high .usage-label strong { color: var(--bad); }
.bar { position: relative; flex: 1 1 7rem; height: .75rem; background: var(--line); border-radius: .4rem; }
.bar .fill { position: absolute; left: 0; top: 0; bottom: 0; max-width: 100%;
  background: var(--ok-edge); border-radius: .4rem; }
.usage-window.usage-high .fill { background: var(--bad-edge); }
.bar .mark { position: absolute; top: -.25rem; bottom: -.25rem; width: 2px; margin-left: -1px;
  background: var(--fg); }
.usage-reset { flex: 1 1 100%; font-size: .85rem; overflow-wrap: anywhere; }
ul.problems li, ul.notices li { margin: .2rem 0; overflow-wrap: anywhere; }
footer { margin-top: 2rem; font-size: .85rem; }
@media (max-width: 40rem) {
  main { padding: .6rem; }
  .summary dl > div:first-child { grid-column: 1 / -1; }
  table.grid, .grid tbody, .grid tr, .grid th, .grid td { display: block; width: 100%; }
  table.grid { border: 0; background: none; }
  .grid thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  .grid tr { background: var(--card); border: 1px solid var(--line); border-radius: .5rem;
    margin-bottom: .75rem; overflow: hidden; }
  .grid tbody th { border-top: 0; }
  .grid td.state::before { content: attr(data-link); display: block; font-size: .75rem;
    font-weight: 600; opacity: .8; }
  .audit thead { display: none; }
  .audit tr { display: block; padding: .4rem .6rem; border-top: 1px solid var(--line); }
  .audit tr:first-child { border-top: 0; }
  .audit td { display: inline; border: 0; padding: 0 .4rem 0 0; }
  .audit td:last-child { display: block; }
}
"#;
