//! What `cargo xtask codegen` prints when the regenerated client has an operation the previous one had not:
//! the hand-written places a new operation still needs (the emulator route and its conformance rows, the
//! documentation tables) and a ready-to-paste call of it through `MpsdClient::operation`.
//!
//! The operations are compared by operationId between the generated client before and after the run (read
//! off the code with [`crate::operations::builders`]), and the call's setters are the builder's own fields,
//! so the snippet compiles against what progenitor generated.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use anyhow::{Context, Result};
use quote::ToTokens;

use crate::operations::{BuilderOp, builders};

/// One setter of a request builder.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Setter {
    name: String,
    required: bool,
}

/// The setters of `builder::<name>` in `client_source`: its fields but the client, required ones first
/// (progenitor's optional fields are `Result<Option<T>, String>`).
fn setters(client_source: &str, name: &str) -> Result<Vec<Setter>> {
    let file = syn::parse_file(client_source).context("the generated client does not parse")?;
    let strukt = crate::operations::builder_module(&file)?
        .iter()
        .find_map(|item| match item {
            syn::Item::Struct(s) if s.ident == name => Some(s),
            _ => None,
        })
        .with_context(|| format!("no `builder::{name}` struct"))?;
    let mut out: Vec<Setter> = strukt
        .fields
        .iter()
        .filter_map(|field| {
            let name = field.ident.as_ref()?.to_string();
            let ty = field.ty.to_token_stream().to_string().replace(' ', "");
            (name != "client").then(|| Setter {
                required: !ty.starts_with("Result<Option<"),
                name,
            })
        })
        .collect();
    out.sort_by_key(|setter| !setter.required);
    Ok(out)
}

/// The emulator file whose handlers serve `path` (the router in `routes/mod.rs` mounts them). The emulator's
/// conformance test names the same files.
fn route_file(path: &str) -> &'static str {
    let lower = path.to_ascii_lowercase();
    if lower.starts_with("/handles") {
        "xbl-mpsd-emulator/src/routes/handles.rs"
    } else if lower.contains("/sessions/") {
        "xbl-mpsd-emulator/src/routes/sessions.rs"
    } else if lower.ends_with("/sessions") || lower.ends_with("/batch") {
        "xbl-mpsd-emulator/src/queries.rs"
    } else {
        "xbl-mpsd-emulator/src/routes/templates.rs"
    }
}

/// The next steps for every operation of `new_client` (the regenerated client's source) that `old_client`
/// (the checked-in one before the run) has not; empty when none is new.
pub fn next_steps(old_client: &str, new_client: &str) -> Result<String> {
    let old: BTreeSet<String> = builders(old_client)?
        .into_iter()
        .map(|op| op.operation_id)
        .collect();
    let mut out = String::new();
    for op in builders(new_client)? {
        if old.contains(&op.operation_id) {
            continue;
        }
        let setters = setters(new_client, &op.builder)?;
        write_steps(&mut out, &op, &setters);
    }
    Ok(out)
}

fn write_steps(out: &mut String, op: &BuilderOp, setters: &[Setter]) {
    let BuilderOp {
        operation_id: id,
        method,
        path,
        ..
    } = op;
    let command = id.replace('_', "-");
    // The closure runs again for each retry, so it clones what it sets; the variables are named after the
    // setters.
    let mut call = format!("api.{id}()");
    let required: Vec<&str> = setters
        .iter()
        .filter(|s| s.required)
        .map(|s| s.name.as_str())
        .collect();
    for name in &required {
        let _ = write!(call, ".{name}({name}.clone())");
    }
    let optional: Vec<&str> = setters
        .iter()
        .filter(|s| !s.required)
        .map(|s| s.name.as_str())
        .collect();
    // `write!` to a String cannot fail.
    let _ = writeln!(
        out,
        "\nnew operation `{id}` ({method} {path}); the generated client and the CLI command \
         `xbl-mpsd {command}` are done, still to do by hand:"
    );
    let _ = writeln!(
        out,
        "  1. emulator: a handler in {file}, mounted in the router (`build` in \
         xbl-mpsd-emulator/src/routes/mod.rs; a wrong verb on the path answers 405);",
        file = route_file(path)
    );
    let _ = writeln!(
        out,
        "  2. xbl-mpsd-emulator/tests/spec_conformance.rs: a test that drives every status it can give \
         (ending with `c.assert_covered(\"{id}\")`) and a COVERAGE row `(\"{id}\", &[200, 400, 401, …])`;"
    );
    let _ = writeln!(
        out,
        "  3. docs (xtask/tests/doc_tables.rs checks them): add `{command}` to the generated-command row \
         of README.md and of xbl-mpsd-cli/README.md, the row | `{method} {path}` | … | to the \
         `## Operations` table of xbl-mpsd-emulator/README.md, and any count of operations in \
         ARCHITECTURE.md; a line under `### Added` of CHANGELOG.md's unreleased version;"
    );
    let in_scope = if required.is_empty() {
        String::new()
    } else {
        format!(
            ", with {} in scope",
            required
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let _ = writeln!(
        out,
        "  4. call it from the SDK (retries, token refresh and typed errors){in_scope}:\n\
         \x20       let reply = client.operation(|api| {call}).send().await?;"
    );
    if !optional.is_empty() {
        let _ = writeln!(
            out,
            "     its optional setters: {}",
            optional
                .iter()
                .map(|s| format!(".{s}(…)"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    let _ = writeln!(
        out,
        "  then `cargo test --workspace`: the conformance and doc-table tests name whatever is still missing."
    );
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::codegen;

    /// The repository's client, generated from its spec with and without `list_session_templates`.
    fn clients() -> (String, String) {
        let root = crate::workspace_root().unwrap();
        let spec = crate::read_spec(&root.join(codegen::SPEC_PATH)).unwrap();
        let mut without = spec.clone();
        let paths = without["paths"].as_object_mut().unwrap();
        let removed = paths
            .remove("/serviceconfigs/{scid}/sessionTemplates")
            .unwrap();
        assert_eq!(removed["get"]["operationId"], "list_session_templates");
        let client = |spec| {
            codegen::generate_from_spec(spec)
                .unwrap()
                .into_iter()
                .find(|file| file.path == codegen::CLIENT_PATH)
                .unwrap()
                .contents
        };
        (client(&without), client(&spec))
    }

    #[test]
    fn a_new_operation_gets_its_steps_and_a_call() {
        let (old, new) = clients();
        let steps = next_steps(&old, &new).unwrap();
        for expected in [
            "new operation `list_session_templates` (GET /serviceconfigs/{scid}/sessionTemplates)",
            "`xbl-mpsd list-session-templates`",
            "xbl-mpsd-emulator/src/routes/templates.rs",
            "xbl-mpsd-emulator/src/routes/mod.rs",
            "COVERAGE row `(\"list_session_templates\", &[200, 400, 401, …])`",
            "c.assert_covered(\"list_session_templates\")",
            "add `list-session-templates` to the generated-command row of README.md and of xbl-mpsd-cli/README.md",
            "| `GET /serviceconfigs/{scid}/sessionTemplates` | … |",
            "ARCHITECTURE.md",
            "with `scid` in scope:",
            "client.operation(|api| api.list_session_templates().scid(scid.clone())).send().await?;",
            "its optional setters: .accept_language(…) .signature(…)",
        ] {
            assert!(
                steps.contains(expected),
                "missing {expected:?} in:\n{steps}"
            );
        }
        // Only the new operation.
        assert_eq!(steps.matches("new operation").count(), 1, "{steps}");
        // Nothing new, nothing printed.
        assert_eq!(next_steps(&new, &new).unwrap(), "");
    }

    #[test]
    fn required_setters_come_first_and_a_body_is_required() {
        let (_, new) = clients();
        let setters = setters(&new, "QueryHandles").unwrap();
        assert_eq!(
            setters.first(),
            Some(&Setter {
                name: "body".into(),
                required: true
            })
        );
        assert!(setters[1..].iter().all(|s| !s.required), "{setters:?}");
        let write = setters_names(&new, "WriteSession");
        assert_eq!(
            &write[..4],
            ["scid", "session_template_name", "session_name", "body"]
        );
    }

    fn setters_names(client: &str, builder: &str) -> Vec<String> {
        setters(client, builder)
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect()
    }

    #[test]
    fn route_files_by_resource() {
        assert_eq!(
            route_file("/handles/{handleId}"),
            "xbl-mpsd-emulator/src/routes/handles.rs"
        );
        assert_eq!(
            route_file("/serviceconfigs/{scid}/sessionTemplates/{t}/sessions/{n}"),
            "xbl-mpsd-emulator/src/routes/sessions.rs"
        );
        assert_eq!(
            route_file("/serviceconfigs/{scid}/batch"),
            "xbl-mpsd-emulator/src/queries.rs"
        );
        assert_eq!(
            route_file("/serviceconfigs/{scid}/sessiontemplates"),
            "xbl-mpsd-emulator/src/routes/templates.rs"
        );
    }
}
