//! The operation tables of the documentation agree with the spec: the generated-command rows of `README.md`
//! and `xbl-mpsd-cli/README.md` name exactly the spec's operations (kebab-case operationIds), the emulator
//! README's "Operations" table lists exactly the spec's `METHOD path`s, and `ARCHITECTURE.md` counts them
//! right wherever it counts them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use xtask::codegen;

/// The spec's operations as `(METHOD, path, operationId)`.
fn spec_operations() -> Vec<(String, String, String)> {
    let root = xtask::workspace_root().expect("workspace root");
    let spec = xtask::read_spec(&root.join(codegen::SPEC_PATH)).expect("spec");
    xtask::validate::operations(&spec)
        .into_iter()
        .map(|(path, method)| {
            let id = spec["paths"][&path][method]["operationId"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            (method.to_uppercase(), path, id)
        })
        .collect()
}

fn read(path: &str) -> String {
    let root = xtask::workspace_root().expect("workspace root");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// The cells of a Markdown table row (`| a | b |`), with `\|` kept inside a cell.
fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    let mut out = vec![String::new()];
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                out.last_mut().unwrap().push('|');
                chars.next();
            }
            '|' => out.push(String::new()),
            c => out.last_mut().unwrap().push(c),
        }
    }
    out.into_iter().map(|cell| cell.trim().to_owned()).collect()
}

/// The backticked words of `text`.
fn code_spans(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// The command names in the first cell of the table row of `file` that lists `get-session` among others.
fn generated_command_row(file: &str) -> BTreeSet<String> {
    let text = read(file);
    let row = text
        .lines()
        .find(|line| {
            line.trim_start().starts_with('|')
                && cells(line)
                    .first()
                    .is_some_and(|cell| code_spans(cell).contains(&"get-session"))
        })
        .unwrap_or_else(|| panic!("{file}: no command table row listing `get-session`"));
    code_spans(&cells(row)[0])
        .into_iter()
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_generated_command_rows_name_every_operation() {
    let operations = spec_operations();
    let expected: BTreeSet<String> = operations
        .iter()
        .map(|(_, _, id)| id.replace('_', "-"))
        .collect();
    let mut problems = Vec::new();
    for file in ["README.md", "xbl-mpsd-cli/README.md"] {
        let listed = generated_command_row(file);
        for (method, path, id) in &operations {
            let command = id.replace('_', "-");
            if !listed.contains(&command) {
                problems.push(format!(
                    "{file}: operation `{id}` ({method} {path}) is not in the generated-command row (the \
                     table row whose first cell lists `get-session`): add `{command}` to that cell"
                ));
            }
        }
        for stale in listed.difference(&expected) {
            problems.push(format!(
                "{file}: the generated-command row lists `{stale}`, which is no operation of the spec: \
                 remove it"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `/serviceconfigs/{scid}/sessionTemplates/{t}/sessions?x=` → `/serviceconfigs/{}/sessiontemplates/{}/sessions`.
fn normalize(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    let mut out = String::new();
    let mut in_placeholder = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_placeholder = true;
                out.push_str("{}");
            }
            '}' => in_placeholder = false,
            c if !in_placeholder => out.push(c.to_ascii_lowercase()),
            _ => {}
        }
    }
    out
}

/// A path with optional `[…]` parts, as every path it stands for.
fn expand(path: &str) -> Vec<String> {
    match (path.find('['), path.find(']')) {
        (Some(open), Some(close)) if open < close => {
            let (before, optional, after) =
                (&path[..open], &path[open + 1..close], &path[close + 1..]);
            let mut out = expand(&format!("{before}{after}"));
            out.extend(expand(&format!("{before}{optional}{after}")));
            out
        }
        _ => vec![path.to_owned()],
    }
}

/// The `(METHOD, normalized path)`s of the emulator README's "Operations" table: each first cell is
/// `` `GET`/`PUT /path` `` or `` `POST /path` ``.
fn emulator_table() -> BTreeSet<(String, String)> {
    let text = read("xbl-mpsd-emulator/README.md");
    let section = text
        .split("\n## Operations\n")
        .nth(1)
        .expect("xbl-mpsd-emulator/README.md has an `## Operations` section");
    let mut out = BTreeSet::new();
    for line in section.lines().skip_while(|l| !l.starts_with('|')) {
        if !line.starts_with('|') {
            break;
        }
        let first = cells(line).into_iter().next().unwrap_or_default();
        let spans = code_spans(&first);
        let Some(last) = spans.last() else {
            continue;
        };
        let Some((method, path)) = last.split_once(' ') else {
            continue;
        };
        let methods = spans[..spans.len() - 1].iter().copied().chain([method]);
        for method in methods {
            for path in expand(path.trim()) {
                out.insert((method.to_owned(), normalize(&path)));
            }
        }
    }
    out
}

#[test]
fn the_emulator_operation_table_lists_every_operation() {
    let listed = emulator_table();
    let operations = spec_operations();
    let expected: BTreeSet<(String, String)> = operations
        .iter()
        .map(|(method, path, _)| (method.clone(), normalize(path)))
        .collect();
    let mut problems = Vec::new();
    for (method, path, id) in &operations {
        if !listed.contains(&(method.clone(), normalize(path))) {
            problems.push(format!(
                "xbl-mpsd-emulator/README.md: operation `{id}` ({method} {path}) is not in the \
                 `## Operations` table: add the row | `{method} {path}` | what the emulator answers |"
            ));
        }
    }
    for (method, path) in listed.difference(&expected) {
        problems.push(format!(
            "xbl-mpsd-emulator/README.md: the `## Operations` table lists {method} {path}, which is no \
             operation of the spec: remove that row (or that verb/path from it)"
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Number words up to twenty.
const NUMBERS: [&str; 21] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
];

#[test]
fn architecture_counts_the_operations_right() {
    let count = spec_operations().len();
    let text = read("ARCHITECTURE.md").to_lowercase();
    let words: Vec<&str> = text.split_whitespace().collect();
    for pair in words.windows(3) {
        // "the eight operations", "all 12 operations" — not "the four session queries" or "the four handle kinds".
        let [_, number, noun] = pair else { continue };
        if !noun.trim_end_matches([',', '.', ')', ';']).eq("operations") {
            continue;
        }
        let said = NUMBERS
            .iter()
            .position(|word| word == number)
            .or_else(|| number.parse().ok());
        if let Some(said) = said {
            assert_eq!(
                said, count,
                "ARCHITECTURE.md says \"{} {number} {noun}\"; the spec has {count} operations: change \
                 the number there",
                pair[0]
            );
        }
    }
}

#[test]
fn the_table_readers_read_what_they_should() {
    assert_eq!(cells("| `a`\\|`b` | c |"), ["`a`|`b`", "c"]);
    assert_eq!(
        normalize("/serviceconfigs/{scid}/sessionTemplates/{t}/sessions?keyword=&take="),
        "/serviceconfigs/{}/sessiontemplates/{}/sessions"
    );
    assert_eq!(
        expand("/s/{scid}[/t/{t}]/sessions"),
        ["/s/{scid}/sessions", "/s/{scid}/t/{t}/sessions"]
    );
}
