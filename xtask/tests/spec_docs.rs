//! The spec's prose is the generated code's documentation: every schema and every property is described, and
//! no text points at files outside the repository.

use xtask::codegen;

#[test]
fn every_schema_and_property_has_a_description() {
    let root = xtask::workspace_root().expect("workspace root");
    let spec = xtask::read_spec(&root.join(codegen::SPEC_PATH)).expect("spec");
    let missing = xtask::spec_docs::undocumented(&spec);
    assert!(
        missing.is_empty(),
        "{}: {} schemas or properties without a description (a property that is a `$ref` alone takes one \
         as `allOf: [{{$ref: …}}]` with `description` beside it):\n  {}",
        codegen::SPEC_PATH,
        missing.len(),
        missing.join("\n  ")
    );
}

#[test]
fn no_spec_text_points_outside_the_repository() {
    let root = xtask::workspace_root().expect("workspace root");
    let spec = xtask::read_spec(&root.join(codegen::SPEC_PATH)).expect("spec");
    let found = xtask::spec_docs::outside_references(&spec);
    assert!(
        found.is_empty(),
        "{} points outside the repository (name the public source, or a file under docs/, instead):\n  {}",
        codegen::SPEC_PATH,
        found.join("\n  ")
    );
}

#[test]
fn every_generated_type_and_field_has_a_doc_comment() {
    // What a caller meets in `types::*`: each struct and each public field carries the spec's description.
    let root = xtask::workspace_root().expect("workspace root");
    let text = std::fs::read_to_string(root.join(codegen::CLIENT_PATH)).expect("generated.rs");
    let file: syn::File = syn::parse_str(&text).expect("generated.rs parses");
    let types = file
        .items
        .iter()
        .find_map(|item| match item {
            syn::Item::Mod(m) if m.ident == "types" => m.content.as_ref().map(|(_, items)| items),
            _ => None,
        })
        .expect("a types module");
    let documented = |attrs: &[syn::Attribute]| attrs.iter().any(|a| a.path().is_ident("doc"));
    let mut missing = Vec::new();
    for item in types {
        let syn::Item::Struct(s) = item else {
            continue;
        };
        if !documented(&s.attrs) {
            missing.push(s.ident.to_string());
        }
        if let syn::Fields::Named(fields) = &s.fields {
            for field in &fields.named {
                let name = field
                    .ident
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                if matches!(field.vis, syn::Visibility::Public(_)) && !documented(&field.attrs) {
                    missing.push(format!("{}.{name}", s.ident));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "generated types or fields without a doc comment (describe them in {}):\n  {}",
        codegen::SPEC_PATH,
        missing.join("\n  ")
    );
}
