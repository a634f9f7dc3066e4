//! Drift test: the checked-in generated files must be what the spec generates today.
//! Runs in plain `cargo test --workspace`, so stale generated code cannot land.

use xtask::codegen::{self, Mode};

#[test]
fn generated_code_is_fresh() {
    let root = xtask::workspace_root().expect("workspace root");
    let report = codegen::run(&root, Mode::Check).expect("code generation failed");
    assert!(
        report.is_clean(),
        "generated code is stale: run `cargo xtask codegen` and commit the result\n{report}"
    );
}

#[test]
fn generation_is_deterministic() {
    let root = xtask::workspace_root().expect("workspace root");
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
    let root = xtask::workspace_root().expect("workspace root");
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
    let root = xtask::workspace_root().expect("workspace root");
    let spec = xtask::read_spec(&root.join(codegen::SPEC_PATH)).expect("spec");
    let input = xtask::transform::generation_input(&spec).expect("transform");

    // Every operation of the spec, however many there are.
    let ops = xtask::validate::operations(&spec);
    assert!(!ops.is_empty(), "the spec has operations");

    for (path, method) in &ops {
        let (path, method) = (path.as_str(), *method);
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
    // Enumerations reach the generator only as named schemas, which codegen replaces with open enums.
    for (name, schema) in input["components"]["schemas"].as_object().expect("schemas") {
        let enumerated = schema.get("anyOf").is_some_and(|alts| {
            alts.as_array()
                .is_some_and(|alts| alts.iter().any(|a| a.get("enum").is_some()))
        }) || schema.get("enum").is_some();
        if enumerated {
            assert!(
                xtask::enums::is_string_enum(schema),
                "{name}: only string enumerations may reach the generator"
            );
        }
    }
}
