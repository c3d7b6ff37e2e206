//! The README, as a newcomer reads it: every command of its walkthrough runs, in order, in a
//! fresh directory with this build as `preflight` on the PATH, and prints what the README shows
//! in shape (the same lines, numbers, times, hashes and paths aside; the same stages and
//! statuses; the same exit status). Its checks table names every check the code can report.
//!
//! A block of the walkthrough is a fenced block right after a `<!-- walkthrough -->` line. In it,
//! a line starting with `$ ` is a command (with its `\` continuation lines and its heredoc
//! body); the lines after it, up to the next command, are its output. A line `…` stands for
//! lines left out, a line ending in `…` for the start of a longer one. `$ echo $?` shows the
//! exit status of the command before it; a command without one must exit 0.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

const README: &str = include_str!("../../README.md");
const MARK: &str = "<!-- walkthrough -->";

/// One command of the walkthrough and what the README shows of its output.
#[derive(Debug, Clone, PartialEq)]
struct Step {
    /// The README line the command starts on (1-based), for messages.
    line: usize,
    /// The command as bash reads it: continuation lines and heredoc body included.
    command: String,
    /// The output the README shows, line by line.
    shown: Vec<String>,
}

/// The fenced blocks that follow a walkthrough mark, each with the line its fence opens on.
fn walkthrough_blocks(readme: &str) -> Vec<(usize, Vec<&str>)> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() == MARK {
            let open = i + 1;
            assert!(
                lines.get(open).is_some_and(|l| l.starts_with("```")),
                "README.md:{}: a walkthrough mark must be followed by a fenced block",
                i + 1
            );
            let body: Vec<&str> = lines[open + 1..]
                .iter()
                .take_while(|l| !l.starts_with("```"))
                .copied()
                .collect();
            i = open + 1 + body.len();
            blocks.push((open + 1, body));
        }
        i += 1;
    }
    blocks
}

/// The delimiter of a heredoc the command opens (`<<'EOF'`, `<<EOF`, `<<-"EOF"`), if any.
fn heredoc_delimiter(command: &str) -> Option<String> {
    let at = command.find("<<")?;
    let rest = command[at + 2..].trim_start_matches('-').trim_start();
    let rest = rest.trim_start_matches(['\'', '"']);
    let word: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!word.is_empty()).then_some(word)
}

/// The commands of one block, in order, each with the output shown after it.
fn steps(first_line: usize, body: &[&str]) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let Some(start) = body[i].strip_prefix("$ ") else {
            match steps.last_mut() {
                Some(step) => step.shown.push(body[i].to_string()),
                None => panic!(
                    "README.md:{}: a walkthrough block starts with a command (`$ …`)",
                    first_line + i + 1
                ),
            }
            i += 1;
            continue;
        };
        let line = first_line + i + 1;
        let mut command = start.to_string();
        while command.ends_with('\\') && i + 1 < body.len() {
            i += 1;
            command.push('\n');
            command.push_str(body[i]);
        }
        if let Some(end) = heredoc_delimiter(&command) {
            loop {
                i += 1;
                let l = body.get(i).unwrap_or_else(|| {
                    panic!("README.md:{line}: the heredoc is not closed by `{end}`")
                });
                command.push('\n');
                command.push_str(l);
                if l.trim_end() == end {
                    break;
                }
            }
        }
        steps.push(Step {
            line,
            command,
            shown: Vec::new(),
        });
        i += 1;
    }
    steps
}

/// Whether `c` ends a path token.
fn ends_path(c: char) -> bool {
    c.is_whitespace() || matches!(c, ')' | '"' | '\'' | ',' | ';' | '│' | '┆')
}

/// One line reduced to its shape: absolute paths, hashes and numbers replaced by a marker,
/// runs of spaces and of table rules collapsed (column widths follow the numbers), trailing
/// space dropped.
fn shape(line: &str) -> String {
    // Absolute paths (temporary files) first: they may hold digits and hex.
    let mut no_paths = String::with_capacity(line.len());
    let mut prev: Option<char> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        let starts = c == '/' && prev.is_none_or(|p| p.is_whitespace() || "(\"'=".contains(p));
        if starts {
            while chars.peek().is_some_and(|&n| !ends_path(n)) {
                chars.next();
            }
            no_paths.push_str("<path>");
            prev = Some('>');
        } else {
            no_paths.push(c);
            prev = Some(c);
        }
    }
    // Then hashes (16 hex digits or more) and numbers (digits with , or . between them).
    let cs: Vec<char> = no_paths.chars().collect();
    let mut out = String::with_capacity(cs.len());
    let mut i = 0;
    while i < cs.len() {
        let hex = cs[i..]
            .iter()
            .take_while(|c| c.is_ascii_digit() || ('a'..='f').contains(c))
            .count();
        let at_word_start = i == 0 || !cs[i - 1].is_ascii_alphanumeric();
        let at_word_end = cs.get(i + hex).is_none_or(|c| !c.is_ascii_alphanumeric());
        if hex >= 16 && at_word_start && at_word_end {
            out.push_str("<hash>");
            i += hex;
        } else if cs[i].is_ascii_digit() {
            i += 1;
            while i < cs.len()
                && (cs[i].is_ascii_digit()
                    || (matches!(cs[i], ',' | '.')
                        && cs.get(i + 1).is_some_and(char::is_ascii_digit)))
            {
                i += 1;
            }
            out.push('0');
        } else {
            out.push(cs[i]);
            i += 1;
        }
    }
    // Then the padding of table cells and the length of table rules.
    let mut collapsed = String::with_capacity(out.len());
    for c in out.chars() {
        let repeat = collapsed.chars().last().is_some_and(|last| {
            (c.is_whitespace() && last == ' ') || (matches!(c, '─' | '═') && last == c)
        });
        if !repeat {
            collapsed.push(if c.is_whitespace() { ' ' } else { c });
        }
    }
    collapsed.trim_end().to_string()
}

/// What a shown line asks of an output line: its whole shape, or (a line cut with `…`) the
/// start of it; a hash or number cut in the middle is left out, since its start alone has
/// another shape than the whole.
fn pattern(shown: &str) -> (String, bool) {
    let t = shown.trim_end();
    match t.strip_suffix('…') {
        Some(cut) => {
            let last = cut.rsplit(char::is_whitespace).next().unwrap_or("");
            let partial = !last.is_empty() && last.chars().all(|c| c.is_ascii_hexdigit());
            let kept = if partial {
                &cut[..cut.len() - last.len()]
            } else {
                cut
            };
            let mut p = shape(kept);
            if kept.ends_with(char::is_whitespace) {
                p.push(' ');
            }
            (p, true)
        }
        None => (shape(t), false),
    }
}

fn line_matches(actual_shape: &str, shown: &str) -> bool {
    match pattern(shown) {
        (p, true) => actual_shape.starts_with(&p),
        (p, false) => actual_shape == p,
    }
}

/// The (stage, status) rows of the stage tables in `lines`, shaped.
fn stages<S: AsRef<str>>(lines: &[S]) -> Vec<(String, String)> {
    let cells = |l: &str| -> Vec<String> {
        l.trim_end_matches('…')
            .split(['│', '┆'])
            .map(|c| shape(c).trim().to_string())
            .filter(|c| !c.is_empty())
            .collect()
    };
    let mut out = Vec::new();
    let mut inside = false;
    for l in lines.iter().map(AsRef::as_ref) {
        let c = cells(l);
        if l.starts_with('│') && c.len() >= 2 && c[0] == "stage" && c[1] == "status" {
            inside = true;
        } else if inside && l.starts_with('│') && c.len() >= 2 {
            out.push((c[0].clone(), c[1].clone()));
        } else if inside && l.starts_with('└') {
            inside = false;
        }
    }
    out
}

/// Does `actual` have the shape the README shows? Every shown line is the next output line
/// (a `…` line skips any number of them), the stage tables hold the same stages with the same
/// statuses, and nothing follows the last shown line unless the README ends with `…`.
fn compare(shown: &[String], actual: &str) -> Result<(), String> {
    let act: Vec<String> = actual.lines().map(shape).collect();
    let want_stages = stages(shown);
    if !want_stages.is_empty() {
        let got = stages(&actual.lines().collect::<Vec<_>>());
        if got != want_stages {
            return Err(format!(
                "stages differ:\n  README: {want_stages:?}\n  output: {got:?}"
            ));
        }
    }
    let mut pos = 0;
    let mut gap = false;
    for s in shown {
        if s.trim() == "…" {
            gap = true;
            continue;
        }
        let found = if gap {
            (pos..act.len()).find(|&j| line_matches(&act[j], s))
        } else {
            (pos < act.len() && line_matches(&act[pos], s)).then_some(pos)
        };
        match found {
            Some(j) => pos = j + 1,
            None => {
                return Err(format!(
                    "the README shows {s:?} ({:?}), the output has {:?} there",
                    pattern(s).0,
                    act.get(pos).map_or("(nothing more)", String::as_str)
                ));
            }
        }
        gap = false;
    }
    if !gap && pos < act.len() {
        return Err(format!(
            "the output goes on after what the README shows: {:?}",
            act[pos]
        ));
    }
    Ok(())
}

/// Run one command as a reader would paste it: bash, stopping at the first error, stderr with
/// stdout in the order they come.
fn run_step(step: &Step, dir: &Path, path: &str) -> (i32, String) {
    let out = Command::new("bash")
        .args(["-e", "-o", "pipefail", "-c"])
        .arg(format!("exec 2>&1\n{}", step.command))
        .current_dir(dir)
        .env("PATH", path)
        .stdin(Stdio::null())
        .output()
        .expect("run bash");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn the_walkthrough_runs_as_the_readme_shows() {
    let blocks = walkthrough_blocks(README);
    assert!(
        blocks.len() >= 5,
        "the walkthrough has {} blocks",
        blocks.len()
    );
    let all: Vec<Step> = blocks.iter().flat_map(|(l, b)| steps(*l, b)).collect();

    let dir = tempfile::tempdir().expect("temp dir");
    let bin = Path::new(env!("CARGO_BIN_EXE_preflight"))
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let mut last_exit = 0;
    for (k, step) in all.iter().enumerate() {
        if step.command.trim() == "echo $?" {
            assert_eq!(
                step.shown,
                vec![last_exit.to_string()],
                "README.md:{}: the command before exits {last_exit}",
                step.line
            );
            continue;
        }
        let (code, output) = run_step(step, dir.path(), &path);
        let shows_status = all
            .get(k + 1)
            .is_some_and(|n| n.command.trim() == "echo $?");
        assert!(
            shows_status || code == 0,
            "README.md:{}: `{}` exits {code}, and the README shows no exit status:\n{output}",
            step.line,
            step.command
        );
        if let Err(e) = compare(&step.shown, &output) {
            panic!(
                "README.md:{}: `{}` (exit {code}): {e}\n--- its output ---\n{output}",
                step.line, step.command
            );
        }
        last_exit = code;
    }
}

/// The check ids in the first column of the README's checks table (`## Checks`).
fn readme_check_ids(readme: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for row in section(readme, "Checks")
        .iter()
        .filter(|l| l.starts_with('|'))
    {
        let first = row.split('|').nth(1).unwrap_or("");
        for (k, part) in first.split('`').enumerate() {
            if k % 2 == 1 {
                ids.insert(part.to_string());
            }
        }
    }
    ids
}

/// Check ids written as string literals in the code (`"sql.scope"`, `"expect.query"`): a
/// report can carry any of them.
fn ids_in_code() -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).expect("read src") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let prefixes = ["sql.", "expect.", "migrations.", "rehearse.", "schema."];
    let not_ids = ["sql", "toml", "json", "md", "xml", "html", "gz", "db", "rs"];
    let mut ids = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read source");
        for (k, lit) in text.split('"').enumerate() {
            let is_id = k % 2 == 1
                && prefixes.iter().any(|p| {
                    lit.strip_prefix(p).is_some_and(|rest| {
                        !rest.is_empty()
                            && rest.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                            && !not_ids.contains(&rest)
                    })
                });
            if is_id {
                ids.insert(lit.to_string());
            }
        }
    }
    ids
}

#[test]
fn the_checks_table_names_every_check_the_code_reports() {
    let table = readme_check_ids(README);
    let registry: BTreeSet<String> = preflight::checks::REGISTRY
        .iter()
        .map(|(id, _)| id.to_string())
        .collect();
    let in_code = ids_in_code();
    assert!(
        in_code.contains("sql.scope") && in_code.contains("expect.query"),
        "the scan of src/ finds the check ids: {in_code:?}"
    );
    let missing: Vec<_> = registry
        .union(&in_code)
        .filter(|id| !table.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md's checks table (## Checks) lacks {missing:?}"
    );
    let unknown: Vec<_> = in_code.difference(&registry).collect();
    assert!(
        unknown.is_empty(),
        "reported but not registered: {unknown:?}"
    );
    let stale: Vec<_> = table.difference(&registry).collect();
    assert!(
        stale.is_empty(),
        "README.md's checks table names checks the code does not have: {stale:?}"
    );
}

/// The lines of the section under `## TITLE`.
fn section<'a>(readme: &'a str, title: &str) -> Vec<&'a str> {
    readme
        .lines()
        .skip_while(|l| l.trim() != format!("## {title}"))
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .collect()
}

#[test]
fn the_readme_starts_a_newcomer_with_an_install_line_and_two_commands() {
    let install = section(README, "Install");
    assert!(
        install
            .iter()
            .any(|l| l.starts_with("cargo install") && l.contains("--path .")),
        "## Install has no `cargo install … --path .` line"
    );
    assert!(
        install.iter().any(|l| l.contains("first build")),
        "## Install does not say how long the first build takes"
    );
    let quick: Vec<&str> = section(README, "Quick start")
        .into_iter()
        .filter(|l| !l.starts_with('`') && !l.is_empty())
        .collect();
    for needed in ["cargo run --release -- rehearse ", "scripts/test.sh "] {
        assert!(
            quick.iter().any(|l| l.starts_with(needed)),
            "## Quick start lacks the command `{needed}`"
        );
    }
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scripts/test.sh")
            .exists()
    );
}

// The parser and the normaliser, on small hand-made inputs.

#[test]
fn shape_ignores_numbers_hashes_paths_and_padding() {
    assert_eq!(
        shape("│ extract       ┆ pass   ┆ 3.1 MB into a temporary database ┆    0.24 │"),
        shape("│ extract ┆ pass ┆ 12.75 MB into a temporary database ┆ 10.5 │")
    );
    assert_eq!(
        shape("PASS: 673 checks, 614 passed, 0 failed; 5.30 s"),
        "PASS: 0 checks, 0 passed, 0 failed; 0 s"
    );
    assert_eq!(
        shape("sha256 8af3fd05780212d2359e66be244ea06a6ec2208c8e50e41cd5a6fecd2acb97c4)"),
        "sha0 <hash>)"
    );
    assert_eq!(
        shape("backed up liveone.db to backups/liveone-20261202-013702.db.gz"),
        "backed up liveone.db to backups/liveone-0-0.db.gz"
    );
    assert_eq!(
        shape("│ extracted ┆ /tmp/.preflight-extract-J3y8E2.db (removed on exit) │"),
        "│ extracted ┆ <path> (removed on exit) │"
    );
    assert_eq!(shape("┌──────┬═══════┐"), "┌─┬═┐");
    assert_eq!(
        shape("clock frozen at 2026-12-02T01:37:02Z"),
        "clock frozen at 0-0-0T0:0:0Z"
    );
    // Words stay: a status, a name, a unit.
    assert_ne!(shape("│ scope ┆ pass ┆"), shape("│ scope ┆ FAIL ┆"));
    assert_ne!(shape("3.1 MB"), shape("3.1 kB"));
    assert_ne!(shape("rows/s"), shape("rows<path>"));
    // A word that only looks like hex is a word.
    assert_eq!(shape("deadbeefdeadbeefx"), "deadbeefdeadbeefx");
}

#[test]
fn a_line_cut_with_an_ellipsis_matches_the_start_of_the_line() {
    let full = shape(
        "│ target ┆ backups/liveone-20261202-013922.db.gz (761.5 kB, sha256 8af3fd05780212d2359e66be244ea06a6ec2208c8e50e41cd5a6fecd2acb97c4) │",
    );
    assert!(line_matches(
        &full,
        "│ target ┆ backups/liveone-20261202-013702.db.gz (761.5 kB, sha256 8af3fd…"
    ));
    assert!(line_matches(&full, "│ target ┆ backups/…"));
    assert!(!line_matches(&full, "│ target ┆ fixtures/…"));
    assert!(!line_matches(
        &full,
        "│ target ┆ backups/liveone-20261202-013702.db.gz"
    ));
}

#[test]
fn compare_sees_a_changed_status_a_missing_stage_an_extra_line_and_a_gap() {
    let shown: Vec<String> = [
        "preflight 0.1.0 rehearse",
        "…",
        "│ stage   ┆ status ┆ detail │",
        "╞═════════╪════════╪════════╡",
        "│ extract ┆ pass   ┆ 3.1 MB │",
        "│ scope   ┆ FAIL   ┆ 2 tables…",
        "└─────────┴────────┴────────┘",
        "…",
        "FAIL: 17 checks, 15 passed, 2 failed",
    ]
    .map(String::from)
    .to_vec();
    let good = "preflight 0.2.0 rehearse\n┌─┐\n│ target ┆ x │\n│ stage ┆ status ┆ detail │\n╞═╪═╪═╡\n│ extract ┆ pass ┆ 30.2 MB │\n│ scope ┆ FAIL ┆ 2 tables changed │\n└─┴─┴─┘\nFAIL sql.scope\nFAIL: 17 checks, 16 passed, 1 failed\n";
    assert_eq!(compare(&shown, good), Ok(()));

    let passed = good.replace("┆ FAIL ┆", "┆ pass ┆");
    assert!(
        compare(&shown, &passed)
            .unwrap_err()
            .contains("stages differ")
    );
    let more = good.replace("└─┴─┴─┘", "│ rollback ┆ pass ┆ as before │\n└─┴─┴─┘");
    assert!(
        compare(&shown, &more)
            .unwrap_err()
            .contains("stages differ")
    );
    let tail = format!("{good}one more line\n");
    assert!(compare(&shown, &tail).unwrap_err().contains("goes on"));
    let first = good.replace("preflight 0.2.0 rehearse", "preflight 0.2.0 verify");
    assert!(compare(&shown, &first).is_err());
    // Lines without a gap between them must follow each other.
    let tight: Vec<String> = ["a", "b"].map(String::from).to_vec();
    assert_eq!(compare(&tight, "a\nb\n"), Ok(()));
    assert!(compare(&tight, "a\nx\nb\n").is_err());
    // No output shown: none expected.
    assert_eq!(compare(&[], ""), Ok(()));
    assert!(compare(&[], "wrote x\n").is_err());
}

#[test]
fn steps_read_heredocs_continuations_and_outputs() {
    let body = [
        "$ cat > f.sql <<'EOF'",
        "$ not a command: heredoc body",
        "EOF",
        "$ preflight rehearse b.db.gz --sql f.sql \\",
        "    --expect e.toml",
        "preflight 0.1.0 rehearse",
        "…",
        "$ echo $?",
        "1",
    ];
    let s = steps(10, &body);
    assert_eq!(s.len(), 3, "{s:?}");
    assert_eq!(s[0].line, 11);
    assert_eq!(
        s[0].command,
        "cat > f.sql <<'EOF'\n$ not a command: heredoc body\nEOF"
    );
    assert!(s[0].shown.is_empty());
    assert_eq!(
        s[1].command,
        "preflight rehearse b.db.gz --sql f.sql \\\n    --expect e.toml"
    );
    assert_eq!(s[1].shown, vec!["preflight 0.1.0 rehearse", "…"]);
    assert_eq!(s[2].command, "echo $?");
    assert_eq!(s[2].shown, vec!["1"]);
    assert_eq!(heredoc_delimiter("cat <<-\"END\" > x"), Some("END".into()));
    assert_eq!(heredoc_delimiter("echo a << b"), Some("b".into()));
    assert_eq!(heredoc_delimiter("echo $?"), None);

    let readme = "text\n<!-- walkthrough -->\n```console\n$ ls\n```\n```\n$ not run\n```\n";
    let blocks = walkthrough_blocks(readme);
    assert_eq!(blocks, vec![(3, vec!["$ ls"])]);
}
