//! HTML: one self-contained page (no script, no font, nothing fetched), readable in any browser:
//! the header and stages, every failure and warning with its examples, a coverage timeline per
//! migration with one track per system (SVG), the changes a SQL rehearsal made, and every check
//! with status filters that work without JavaScript.

use super::phrase;
use std::fmt::Write as _;

use super::{RenderOptions, Renderer, header_pairs, output_rows, seconds, summary_line, verdict};
use crate::report::{CheckResult, Report, Shown, Status, SystemTimeline, Timeline};
use crate::table::count;

pub struct Html;

impl Renderer for Html {
    fn render(&self, r: &Report, _opts: &RenderOptions) -> String {
        let mut out = String::with_capacity(64 * 1024);
        let verdict = if r.passed() { "PASS" } else { "FAIL" };
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{} {}: {verdict}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
            esc(&r.tool),
            esc(&r.command)
        );
        header(&mut out, r, verdict);
        stages(&mut out, r);
        findings(&mut out, r);
        if !r.timelines.is_empty() {
            out.push_str("<section id=\"coverage\">\n<h2>Coverage over time</h2>\n");
            out.push_str(
                "<p class=\"legend\"><span class=\"key source\"></span> source rows \
                 <span class=\"key migrated\"></span> rows the migration wrote \
                 <span class=\"key live\"></span> rows the live app wrote \
                 <span class=\"key gap\"></span> gap in the source \
                 <span class=\"key seam\"></span> first live row (the seam)</p>\n",
            );
            for t in &r.timelines {
                timeline(&mut out, t);
            }
            out.push_str("</section>\n");
        }
        changes(&mut out, r);
        outputs(&mut out, r);
        checks(&mut out, r);
        out.push_str("</body>\n</html>\n");
        out
    }

    fn view(&self, v: &Shown, _opts: &RenderOptions) -> String {
        let d = &v.document;
        let mut out = String::new();
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>preflight {cmd}: {verdict}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
             <header>\n<h1>preflight {cmd} <span class=\"badge {cls}\" id=\"verdict\">{verdict}</span></h1>\n\
             <p id=\"summary\">{}</p>\n",
            esc(&d.title),
            cmd = esc(v.command),
            verdict = verdict(v.passed),
            cls = if v.passed { "pass" } else { "fail" },
        );
        if !d.pairs.is_empty() {
            out.push_str("<table class=\"pairs\">\n");
            for (k, val) in &d.pairs {
                let _ = writeln!(
                    out,
                    "<tr><th>{}</th><td class=\"mono\">{}</td></tr>",
                    esc(k),
                    esc(val)
                );
            }
            out.push_str("</table>\n");
        }
        out.push_str("</header>\n");
        for t in &d.tables {
            out.push_str("<table>\n<tr>");
            for h in &t.headers {
                let _ = write!(out, "<th>{}</th>", esc(h));
            }
            out.push_str("</tr>\n");
            for r in &t.rows {
                out.push_str("<tr>");
                for c in r {
                    let _ = write!(
                        out,
                        "<td>{}</td>",
                        c.split('\n').map(esc).collect::<Vec<_>>().join("<br>")
                    );
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</table>\n");
        }
        if !d.notes.is_empty() {
            out.push_str("<ul class=\"notes\">\n");
            for n in &d.notes {
                let _ = writeln!(out, "<li>{}</li>", esc(n));
            }
            out.push_str("</ul>\n");
        }
        out.push_str("</body>\n</html>\n");
        out
    }
}

const STYLE: &str = "
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem auto;max-width:72rem;padding:0 1rem;color:#1d1d1f;background:#fff}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid #ddd;padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#f4f4f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,monospace;font-size:.9em;word-break:break-all}
.badge{display:inline-block;padding:.05rem .5rem;border-radius:.3rem;color:#fff;font-size:.85em}
.badge.pass{background:#1a7f37}.badge.fail{background:#cf222e}
.status-fail{color:#cf222e;font-weight:600}.status-warn{color:#9a6700;font-weight:600}
.status-pass{color:#1a7f37}.status-skip{color:#6e7781}
ol.findings>li{margin:.6rem 0}ol.findings ul{margin:.2rem 0}
.filters label{margin-right:1rem;cursor:pointer}
.filters input{margin-right:.25rem}
#show-fail:checked~table.checks tr.row-pass,#show-fail:checked~table.checks tr.row-skip,#show-fail:checked~table.checks tr.row-warn{display:none}
#show-warn:checked~table.checks tr.row-pass,#show-warn:checked~table.checks tr.row-skip,#show-warn:checked~table.checks tr.row-fail{display:none}
#show-pass:checked~table.checks tr.row-fail,#show-pass:checked~table.checks tr.row-skip,#show-pass:checked~table.checks tr.row-warn{display:none}
#show-skip:checked~table.checks tr.row-fail,#show-skip:checked~table.checks tr.row-pass,#show-skip:checked~table.checks tr.row-warn{display:none}
figure.timeline{margin:1rem 0}figure.timeline svg{width:100%;height:auto;border:1px solid #eee}
.legend .key{display:inline-block;width:1rem;height:.7rem;margin:0 .2rem 0 .8rem;vertical-align:middle}
.source{fill:#8c959f;background:#8c959f}.migrated{fill:#0969da;background:#0969da}.live{fill:#1a7f37;background:#1a7f37}
.gap{fill:#cf222e;fill-opacity:.25;background:#f3b5b8}.seam{stroke:#9a6700;stroke-width:2;background:#9a6700}
svg text{font:11px system-ui,sans-serif;fill:#1d1d1f}svg .axis{stroke:#bbb}
";

/// Text safe inside HTML elements and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn status_class(s: Status) -> &'static str {
    match s {
        Status::Pass => "pass",
        Status::Warn => "warn",
        Status::Skip => "skip",
        Status::Fail => "fail",
    }
}

fn header(out: &mut String, r: &Report, verdict: &str) {
    let _ = write!(
        out,
        "<header>\n<h1>{} {} <span class=\"badge {}\" id=\"verdict\">{verdict}</span></h1>\n\
         <p id=\"summary\">{}</p>\n<table class=\"pairs\">\n",
        esc(&r.tool),
        esc(&r.command),
        if r.passed() { "pass" } else { "fail" },
        esc(&summary_line(r))
    );
    for (k, v) in header_pairs(r) {
        let _ = writeln!(
            out,
            "<tr><th>{}</th><td class=\"mono\">{}</td></tr>",
            esc(k),
            esc(&v)
        );
    }
    out.push_str("</table>\n</header>\n");
}

fn stages(out: &mut String, r: &Report) {
    if r.stages.is_empty() {
        return;
    }
    out.push_str(
        "<section id=\"stages\">\n<h2>Stages</h2>\n<table>\n\
         <tr><th>stage</th><th>status</th><th>detail</th><th>seconds</th></tr>\n",
    );
    for s in &r.stages {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"status-{}\">{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            esc(&s.name),
            status_class(s.status),
            s.status.as_str(),
            esc(&s.detail),
            seconds(r, &format!("stage:{}", s.name))
        );
    }
    out.push_str("</table>\n</section>\n");
}

fn findings(out: &mut String, r: &Report) {
    let shown: Vec<&CheckResult> = r
        .checks
        .iter()
        .filter(|c| matches!(c.status, Status::Fail | Status::Warn))
        .collect();
    out.push_str("<section id=\"failures\">\n<h2>Failures and warnings</h2>\n");
    if shown.is_empty() {
        out.push_str("<p>None.</p>\n</section>\n");
        return;
    }
    out.push_str("<ol class=\"findings\">\n");
    for c in shown {
        let p = phrase::check(c);
        let _ = write!(
            out,
            "<li class=\"finding {cls}\"><span class=\"status-{cls}\">{}</span> <code>{}</code> · {}<br>\
             {}: expected {}, found {} ({} violations)",
            c.status.as_str(),
            esc(&c.check),
            esc(&p.scope),
            esc(&c.title),
            esc(&p.expected),
            esc(&p.found),
            count(c.violations as i64),
            cls = status_class(c.status)
        );
        if !p.examples.is_empty() {
            out.push_str("\n<ul>\n");
            for e in &p.examples {
                let _ = writeln!(out, "<li><code>{}</code></li>", esc(e));
            }
            out.push_str("</ul>");
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ol>\n</section>\n");
}

/// A time of the axis as a UTC date and time (minutes).
fn when(t: i64, per_second: i64) -> String {
    let secs = t.div_euclid(per_second.max(1));
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|d| d.format(&f).ok())
        .map(|s| s + " UTC")
        .unwrap_or_else(|| t.to_string())
}

const WIDTH: f64 = 1000.0;
const LABEL: f64 = 170.0;
const LANE: f64 = 11.0;
const TRACK: f64 = 3.0 * LANE + 14.0;
const AXIS: f64 = 28.0;

fn timeline(out: &mut String, t: &Timeline) {
    let height = AXIS + TRACK * t.systems.len() as f64 + 8.0;
    let plot = WIDTH - LABEL - 10.0;
    let span = (t.end - t.start).max(1) as f64;
    let x_of_time = |v: i64| LABEL + (v - t.start) as f64 / span * plot;
    let x_of_bucket = |b: usize| LABEL + b as f64 / t.buckets.max(1) as f64 * plot;
    let _ = write!(
        out,
        "<figure class=\"timeline\" data-migration=\"{m}\">\n<figcaption>{m}: {} to {}</figcaption>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" \
         aria-label=\"coverage of {m} per system\">\n",
        when(t.start, t.per_second),
        when(t.end, t.per_second),
        m = esc(&t.migration)
    );
    // the axis: five dates
    for i in 0..=4 {
        let v = t.start + ((t.end - t.start) as f64 * i as f64 / 4.0) as i64;
        let x = x_of_time(v);
        let anchor = match i {
            0 => "start",
            4 => "end",
            _ => "middle",
        };
        let _ = writeln!(
            out,
            "<line class=\"axis\" x1=\"{x:.1}\" y1=\"{AXIS}\" x2=\"{x:.1}\" y2=\"{:.1}\"/>\
             <text x=\"{x:.1}\" y=\"14\" text-anchor=\"{anchor}\">{}</text>",
            height - 4.0,
            esc(&when(v, t.per_second))
        );
    }
    for (i, s) in t.systems.iter().enumerate() {
        let y = AXIS + 4.0 + TRACK * i as f64;
        track(out, t, s, y, &x_of_bucket, &x_of_time);
    }
    out.push_str("</svg>\n</figure>\n");
}

fn track(
    out: &mut String,
    t: &Timeline,
    s: &SystemTimeline,
    y: f64,
    x_of_bucket: &dyn Fn(usize) -> f64,
    x_of_time: &dyn Fn(i64) -> f64,
) {
    let _ = writeln!(
        out,
        "<g class=\"track\" data-system=\"{}\"><text x=\"4\" y=\"{:.1}\">system {} ({})</text>",
        s.system_id,
        y + 1.5 * LANE,
        s.system_id,
        esc(&s.vendor_type)
    );
    for (k, (class, counts)) in [
        ("source", &s.source),
        ("migrated", &s.migrated),
        ("live", &s.live),
    ]
    .into_iter()
    .enumerate()
    {
        let _ = write!(out, "<g class=\"lane {class}\">");
        let ly = y + k as f64 * LANE;
        // runs of consecutive buckets holding rows, one rectangle each
        let mut b = 0;
        while b < counts.len() {
            if counts[b] == 0 {
                b += 1;
                continue;
            }
            let from = b;
            let mut rows = 0;
            while b < counts.len() && counts[b] > 0 {
                rows += counts[b];
                b += 1;
            }
            let (x0, x1) = (x_of_bucket(from), x_of_bucket(b));
            let _ = write!(
                out,
                "<rect x=\"{x0:.1}\" y=\"{ly:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{} {class} rows, {} to {}</title></rect>",
                (x1 - x0).max(1.0),
                LANE - 2.0,
                count(rows as i64),
                esc(&when(bucket_time(t, from), t.per_second)),
                esc(&when(bucket_time(t, b), t.per_second))
            );
        }
        out.push_str("</g>");
    }
    out.push('\n');
    for (from, to) in &s.gaps {
        let (x0, x1) = (x_of_time(*from), x_of_time(*to));
        let _ = write!(
            out,
            "<rect class=\"gap\" x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>no source row from {} to {}</title></rect>",
            (x1 - x0).max(1.5),
            3.0 * LANE,
            esc(&when(*from, t.per_second)),
            esc(&when(*to, t.per_second))
        );
    }
    if let Some(seam) = s.seam {
        let x = x_of_time(seam);
        let _ = write!(
            out,
            "<line class=\"seam\" x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\"><title>first live row: {}</title></line>",
            y - 2.0,
            y + 3.0 * LANE + 2.0,
            esc(&when(seam, t.per_second))
        );
    }
    out.push_str("</g>\n");
}

/// The time at which bucket `b` starts.
fn bucket_time(t: &Timeline, b: usize) -> i64 {
    let span = (t.end - t.start).max(1) as i128 + 1;
    t.start + (span * b as i128 / t.buckets.max(1) as i128) as i64
}

/// For SQL rehearsals: what the script changed, table by table, against its declared scope.
fn changes(out: &mut String, r: &Report) {
    let rows: Vec<&CheckResult> = r.checks.iter().filter(|c| c.check == "sql.scope").collect();
    if rows.is_empty() {
        return;
    }
    out.push_str(
        "<section id=\"changes\">\n<h2>What the script changed</h2>\n<table>\n\
         <tr><th>status</th><th>scope</th><th>allowed</th><th>changed</th><th>examples</th></tr>\n",
    );
    for c in rows {
        let p = phrase::check(c);
        let _ = writeln!(
            out,
            "<tr class=\"row-{cls}\"><td class=\"status-{cls}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.status.as_str(),
            esc(&p.scope),
            esc(&p.expected),
            esc(&p.found),
            p.examples
                .iter()
                .map(|e| format!("<code>{}</code>", esc(e)))
                .collect::<Vec<_>>()
                .join("<br>"),
            cls = status_class(c.status)
        );
    }
    out.push_str("</table>\n</section>\n");
}

/// What the scripts' own queries returned.
fn outputs(out: &mut String, r: &Report) {
    if r.outputs.is_empty() {
        return;
    }
    out.push_str(
        "<section id=\"outputs\">\n<h2>Script output</h2>\n<table>\n\
         <tr><th>at</th><th>statement</th><th>rows</th></tr>\n",
    );
    for o in &r.outputs {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td><td><code>{}</code></td></tr>",
            esc(&o.at),
            esc(&o.statement),
            output_rows(o)
                .iter()
                .map(|l| esc(l))
                .collect::<Vec<_>>()
                .join("<br>")
        );
    }
    out.push_str("</table>\n</section>\n");
}

fn checks(out: &mut String, r: &Report) {
    out.push_str("<section id=\"checks\">\n<h2>Every check</h2>\n<div class=\"filters\">\n");
    for (id, label, on) in [
        ("show-all", "all", true),
        ("show-fail", "failed", false),
        ("show-warn", "warned", false),
        ("show-pass", "passed", false),
        ("show-skip", "skipped", false),
    ] {
        let _ = write!(
            out,
            "<input type=\"radio\" name=\"status\" id=\"{id}\"{}><label for=\"{id}\">{label}</label>",
            if on { " checked" } else { "" }
        );
    }
    // the radio buttons are siblings of the table, so CSS alone filters its rows
    out.push_str("\n<table class=\"checks\">\n<tr><th>status</th><th>check</th><th>scope</th><th>expected</th><th>actual</th><th>violations</th><th>first example</th></tr>\n");
    for c in &r.checks {
        let p = phrase::check(c);
        let _ = writeln!(
            out,
            "<tr class=\"row-{cls}\"><td class=\"status-{cls}\">{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td><code>{}</code></td></tr>",
            c.status.as_str(),
            esc(&c.check),
            esc(&p.scope),
            esc(&p.expected),
            esc(&p.found),
            count(c.violations as i64),
            esc(p.examples.first().map(String::as_str).unwrap_or("")),
            cls = status_class(c.status)
        );
    }
    out.push_str("</table>\n</div>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
