//! Generates the client from the committed spec into OUT_DIR, so the code that is built is
//! always progenitor's own output for openapi/openapi.json, never a hand-edited copy.

use std::{env, fs, path::Path};

const SPEC: &str = "../../openapi/openapi.json";

fn main() {
    println!("cargo:rerun-if-changed={SPEC}");
    let text = fs::read_to_string(SPEC).expect("read openapi/openapi.json");
    let spec = serde_json::from_str(&text).expect("parse openapi/openapi.json");
    let tokens = progenitor::Generator::default()
        .generate_tokens(&spec)
        .unwrap_or_else(|e| panic!("progenitor refused openapi/openapi.json: {e}"));
    let file = syn::parse2(tokens).expect("progenitor's output parses");
    let out = Path::new(&env::var("OUT_DIR").expect("OUT_DIR")).join("client.rs");
    fs::write(out, prettyplease::unparse(&file)).expect("write the client");
}
