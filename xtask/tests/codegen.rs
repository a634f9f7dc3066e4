//! Drift test: the checked-in generated files must be what the spec generates today.
//! Runs in plain `cargo test --workspace`, so stale generated code cannot land.

use xtask::codegen::{self, Mode};

#[test]
fn generated_code_is_fresh() {
    let root = xtask::workspace_root();
    let report = codegen::run(&root, Mode::Check).expect("code generation failed");
    assert!(
        report.is_clean(),
        "generated code is stale: run `cargo xtask codegen` and commit the result\n{report}"
    );
}

#[test]
fn generation_is_deterministic() {
    let root = xtask::workspace_root();
    let first = codegen::generate_all(&root).expect("first generation");
    let second = codegen::generate_all(&root).expect("second generation");
    assert_eq!(first.len(), second.len());
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(a.path, b.path);
        assert!(
            a.contents == b.contents,
            "{} differs between two runs",
            a.path
        );
    }
}

#[test]
fn generated_files_carry_the_do_not_edit_header() {
    let root = xtask::workspace_root();
    for file in codegen::generate_all(&root).expect("generation") {
        assert!(
            file.contents.starts_with("// @generated") && file.contents.contains("DO NOT EDIT"),
            "{} lacks the do-not-edit header",
            file.path
        );
    }
}

/// The transform must not make the spec file lie: the spec keeps what generation drops.
#[test]
fn spec_stays_complete_and_generation_input_fits_progenitor() {
    let root = xtask::workspace_root();
    let text = std::fs::read_to_string(root.join(codegen::SPEC_PATH)).expect("spec");
    let spec: serde_json::Value = yaml_serde::from_str(&text).expect("spec is YAML");
    let input = xtask::transform::generation_input(&spec).expect("transform");

    let ops = [
        ("/handles/{handleId}/session", "put"),
        ("/handles/{handleId}/session", "get"),
        ("/handles", "post"),
        ("/handles/query", "post"),
        ("/handles/{handleId}", "get"),
        ("/handles/{handleId}", "delete"),
        (
            "/serviceconfigs/{scid}/sessionTemplates/{sessionTemplateName}/sessions/{sessionName}",
            "put",
        ),
        (
            "/serviceconfigs/{scid}/sessionTemplates/{sessionTemplateName}/sessions/{sessionName}",
            "get",
        ),
    ];
    let spec_ops: usize = spec["paths"]
        .as_object()
        .expect("paths")
        .values()
        .map(|item| {
            ["get", "put", "post", "delete"]
                .iter()
                .filter(|m| item.get(**m).is_some())
                .count()
        })
        .sum();
    assert_eq!(
        spec_ops,
        ops.len(),
        "the spec has exactly the eight operations"
    );

    for (path, method) in ops {
        let item = &spec["paths"][path];
        let op = &item[method];
        for key in ["operationId", "summary", "description", "tags"] {
            assert!(op.get(key).is_some(), "{method} {path} lacks {key}");
        }
        let params: Vec<&serde_json::Value> = item["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(op["parameters"].as_array().into_iter().flatten())
            .collect();
        assert!(
            params
                .iter()
                .any(|p| p["$ref"] == "#/components/parameters/ContractVersion"),
            "{method} {path} must declare X-Xbl-Contract-Version in the spec"
        );
        let gen_item = &input["paths"][path];
        let gen_params = gen_item["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(
                gen_item[method]["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten(),
            );
        for p in gen_params {
            assert_ne!(p["$ref"], "#/components/parameters/ContractVersion");
        }
        let codes: Vec<&String> = gen_item[method]["responses"]
            .as_object()
            .expect("responses")
            .keys()
            .collect();
        assert!(
            codes.iter().all(|c| c.starts_with('2')),
            "{method} {path}: {codes:?}"
        );
    }
    assert!(
        !serde_json::to_string(&input["components"]["schemas"])
            .expect("json")
            .contains("\"enum\""),
        "no closed enum may reach the generator"
    );
}
