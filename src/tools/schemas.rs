//! The built-in tools' JSON Schemas, stored as compact JSON text in
//! `src/tools/schemas/` and compiled into the binary.
//!
//! Deriving the schemas at start-up (schemars, then `Value` trees) ran
//! ~100 KiB of code and kept ~130 KiB of heap in every idle server. The Rust
//! definitions (the argument types and their doc comments, or a `json!`
//! value) stay the source of truth: debug builds and the unit tests (in
//! release too: `every_stored_schema_is_current`) derive each schema again
//! when its tool is registered and panic if the stored text differs. `LMCP_UPDATE_SCHEMAS=1 cargo test --all-features`
//! rewrites the stored files instead.

#[cfg(any(debug_assertions, test))]
use crate::server::Schema;
#[cfg(any(debug_assertions, test))]
use serde_json::Value;

/// The stored schema `src/tools/schemas/FILE.json`: `stored!(FILE, Type)`
/// for the schema derived from an argument type, `stored!(FILE => expr)` for
/// a `Value` built in code. Either is evaluated in debug and test builds
/// only, to check the stored text.
macro_rules! stored {
    ($file:literal, $ty:ty) => {
        $crate::tools::schemas::stored!($file => $crate::server::schema_for::<$ty>())
    };
    ($file:literal => $value:expr) => {{
        let stored = $crate::server::Schema::from_static(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/tools/schemas/",
            $file,
            ".json"
        )));
        #[cfg(any(debug_assertions, test))]
        $crate::tools::schemas::check(&stored, $file, $value);
        stored
    }};
}
pub(crate) use stored;

/// Panics (or, with `LMCP_UPDATE_SCHEMAS` set, rewrites the file) when the
/// stored schema `file` is not `derived`.
#[cfg(any(debug_assertions, test))]
pub(crate) fn check(stored: &Schema, file: &str, derived: Value) {
    if stored.to_value() == derived {
        return;
    }
    let path = format!(
        "{}/src/tools/schemas/{file}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = Schema::from_value(&derived).as_json().to_owned() + "\n";
    if std::env::var_os("LMCP_UPDATE_SCHEMAS").is_some() {
        if let Err(e) = std::fs::write(&path, text) {
            panic!("could not rewrite {path}: {e}");
        }
        eprintln!("lmcp: rewrote {path}; rebuild to use it");
        return;
    }
    panic!(
        "the stored schema {path} is stale (its Rust definition changed); \
         run `LMCP_UPDATE_SCHEMAS=1 cargo test --all-features` to rewrite it. It should be:\n{text}"
    );
}

#[cfg(test)]
mod tests {
    use crate::tools::{fs, jobs, shell};
    use std::sync::Arc;

    /// Registers every built-in tool of the features compiled in, which
    /// checks each stored schema against its Rust definition (debug builds).
    #[test]
    fn every_stored_schema_is_current() {
        let shell_cfg = Arc::new(shell::ShellConfig::default());
        let mut tools = crate::tools::builtin();
        tools.extend(fs::tools(Arc::new(fs::FsConfig::default())));
        tools.extend(shell::tools(
            shell_cfg.clone(),
            jobs::JobManager::new(shell_cfg),
        ));
        #[cfg(feature = "web")]
        tools.extend(crate::tools::web::tools(Default::default()));
        for t in &tools {
            assert!(t.input_schema.as_json().starts_with('{'), "{}", t.name);
        }
        assert!(tools.len() >= 16, "{}", tools.len());
    }
}
