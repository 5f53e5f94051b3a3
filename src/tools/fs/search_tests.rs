use super::super::test_util::{call, env, text};
use super::*;

fn tree(root: &Path) {
    for (f, c) in [
        (
            "src/main.rs",
            "fn main() {\n    let Foo = 1;\n    foo();\n}\n",
        ),
        ("src/lib.rs", "pub fn foo() {}\n"),
        ("README.md", "Foo bar\n"),
        ("target/out.rs", "fn foo() {}\n"),
        ("data.bin", "foo\0\0\0binary"),
    ] {
        let p = root.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, c).unwrap();
    }
    std::fs::write(root.join(".gitignore"), "target/\n").unwrap();
}

#[tokio::test]
async fn content_search_respects_ignore_and_binary() {
    let e = env();
    tree(&e.root);
    let t = tool(e.cfg.clone());
    let r = call(&t, json!({"pattern": "fn \\w+\\(\\)"})).await.unwrap();
    assert_eq!(
        text(&r),
        "src/lib.rs:1: pub fn foo() {}\nsrc/main.rs:1: fn main() {\n"
    );
    let r = call(
        &t,
        json!({"pattern": "foo", "case_insensitive": true, "include": ["*.rs"]}),
    )
    .await
    .unwrap();
    let s = r.structured.unwrap();
    assert_eq!(s["matches"].as_array().unwrap().len(), 3, "{s}");
    let r = call(&t, json!({"pattern": "foo", "exclude": ["src/**"]}))
        .await
        .unwrap();
    assert!(text(&r).starts_with("No matches"), "{}", text(&r));
    let r = call(
        &t,
        json!({"pattern": "foo()", "literal": true, "context": 1, "path": "src"}),
    )
    .await
    .unwrap();
    assert_eq!(text(&r), "src/lib.rs:1: pub fn foo() {}\nsrc/main.rs-2-     let Foo = 1;\nsrc/main.rs:3:     foo();\nsrc/main.rs-4- }\n");
}

#[tokio::test]
async fn max_results_names_mode_and_errors() {
    let e = env();
    tree(&e.root);
    let t = tool(e.cfg.clone());
    let r = call(&t, json!({"pattern": "o", "max_results": 1}))
        .await
        .unwrap();
    assert!(text(&r).contains("[stopped at 1 results"), "{}", text(&r));
    let r = call(&t, json!({"pattern": "*.rs", "names": true}))
        .await
        .unwrap();
    assert_eq!(text(&r), "src/lib.rs\nsrc/main.rs\n");
    let r = call(&t, json!({"pattern": "READ", "names": true}))
        .await
        .unwrap();
    assert_eq!(text(&r), "README.md\n");
    assert!(call(&t, json!({"pattern": "("}))
        .await
        .unwrap_err()
        .contains("literal: true"));
    assert!(call(&t, json!({"pattern": "x", "path": ".."}))
        .await
        .unwrap_err()
        .contains("outside"));
}

#[tokio::test]
async fn honours_cancellation() {
    let e = env();
    tree(&e.root);
    let t = tool(e.cfg.clone());
    let ctx = crate::server::RequestContext::detached();
    ctx.cancellation().cancel();
    let args = json!({"pattern": "foo"}).as_object().unwrap().clone();
    let r = (t.handler)(args, ctx).await;
    assert!(matches!(r, Err(crate::server::ToolError::Tool(m)) if m == "cancelled"));
}
