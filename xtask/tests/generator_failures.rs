//! Generation input progenitor cannot take fails with the operation and the reason, on a copy of the
//! workspace's spec.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use xtask::codegen;

fn workspace_with(spec: &serde_json::Value) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec_path = dir.path().join(codegen::SPEC_PATH);
    std::fs::create_dir_all(spec_path.parent().expect("spec dir")).expect("mkdir");
    std::fs::write(
        &spec_path,
        serde_json::to_string_pretty(spec).expect("json"),
    )
    .expect("write");
    dir
}

fn real_spec() -> serde_json::Value {
    let root = xtask::workspace_root().expect("workspace root");
    xtask::read_spec(&root.join(codegen::SPEC_PATH)).expect("spec")
}

fn generate(root: &Path) -> anyhow::Result<Vec<codegen::GeneratedFile>> {
    codegen::generate_all(root)
}

#[test]
fn an_unsupported_request_media_type_names_the_operation() {
    let mut spec = real_spec();
    let body = &mut spec["paths"]["/handles"]["post"]["requestBody"]["content"];
    let json = body["application/json"].clone();
    body["application/xml"] = json;
    let dir = workspace_with(&spec);
    let err = generate(dir.path()).expect_err("generation must fail");
    let text = format!("{err:#}");
    assert!(
        text.contains("POST /handles (create_handle): the request body has 2 media types"),
        "{text}"
    );
    assert!(
        text.contains("application/xml is not one progenitor supports"),
        "{text}"
    );
}

#[test]
fn a_second_json_success_schema_is_generated_as_a_raw_success() {
    let mut spec = real_spec();
    spec["paths"]["/handles/{handleId}"]["get"]["responses"]["202"] = serde_json::json!({
        "description": "accepted, with a job",
        "content": {"application/json": {"schema": {"type": "object", "properties": {"job": {"type": "string"}}}}}
    });
    let dir = workspace_with(&spec);
    let files = generate(dir.path()).expect("generation succeeds with one typed success");
    let client = &files[0].contents;
    // 200 stays typed; 202 is not matched by the generated client (it arrives as UnexpectedResponse).
    assert!(
        client.contains("200u16 =>"),
        "the typed 200 arm is generated"
    );
    let get_handle = client
        .split("pub async fn send")
        .find(|chunk| chunk.contains("/handles/{}") && chunk.contains("Method::GET"))
        .unwrap_or_default();
    assert!(!get_handle.contains("202u16"), "202 must not be typed");
}
