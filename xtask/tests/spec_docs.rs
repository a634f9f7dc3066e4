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
