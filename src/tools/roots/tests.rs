use super::*;
use std::os::unix::fs::symlink;

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
    roots: Roots,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let base = std::fs::canonicalize(tmp.path()).unwrap();
    let root = base.join("root");
    let outside = base.join("outside");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(root.join("sub/a.txt"), "inside").unwrap();
    std::fs::write(outside.join("secret.txt"), "secret").unwrap();
    let roots = Roots::new(vec![root.clone()]).unwrap();
    Fixture {
        _tmp: tmp,
        root,
        outside,
        roots,
    }
}

fn is_outside(e: RootsError) -> bool {
    matches!(e, RootsError::Outside { .. })
}

#[test]
fn new_refuses_missing_and_empty() {
    assert!(matches!(Roots::new(vec![]), Err(RootsError::NoRoots)));
    let e = Roots::new(vec![PathBuf::from("/definitely/not/here")]).unwrap_err();
    assert!(matches!(e, RootsError::RootMissing { .. }));
    assert!(e.to_string().contains("--root"));
}

#[test]
fn resolves_relative_and_absolute_inside() {
    let f = fixture();
    let a = f.roots.resolve_existing("sub/a.txt").unwrap();
    assert_eq!(a, f.root.join("sub/a.txt"));
    let b = f
        .roots
        .resolve_existing(f.root.join("sub/../sub/a.txt").to_str().unwrap())
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(f.roots.display(&a), "sub/a.txt");
}

#[test]
fn refuses_dotdot_absolute_and_nul() {
    let f = fixture();
    let e = f
        .roots
        .resolve_existing("../outside/secret.txt")
        .unwrap_err();
    assert!(e.to_string().contains(&f.root.display().to_string()), "{e}");
    assert!(is_outside(e));
    let abs = f.outside.join("secret.txt");
    assert!(is_outside(
        f.roots.resolve_existing(abs.to_str().unwrap()).unwrap_err()
    ));
    assert!(matches!(
        f.roots.resolve_existing("sub/a\0.txt"),
        Err(RootsError::NulByte)
    ));
    // A missing file outside is "outside", not "not found".
    assert!(is_outside(
        f.roots.resolve_existing("../outside/nope").unwrap_err()
    ));
    assert!(matches!(
        f.roots.resolve_existing("sub/nope"),
        Err(RootsError::NotFound { .. })
    ));
}

#[test]
fn refuses_symlinks_out_file_and_dir() {
    let f = fixture();
    symlink(f.outside.join("secret.txt"), f.root.join("link.txt")).unwrap();
    symlink(&f.outside, f.root.join("linkdir")).unwrap();
    assert!(is_outside(
        f.roots.resolve_existing("link.txt").unwrap_err()
    ));
    assert!(is_outside(
        f.roots.resolve_existing("linkdir/secret.txt").unwrap_err()
    ));
    assert!(is_outside(
        f.roots.resolve_new("linkdir/new.txt").unwrap_err()
    ));
    assert!(is_outside(f.roots.resolve_new("link.txt").unwrap_err()));
    assert!(is_outside(
        f.roots.resolve_dir(Some("linkdir")).unwrap_err()
    ));
    // A symlink that stays inside is fine.
    symlink(f.root.join("sub/a.txt"), f.root.join("ok.txt")).unwrap();
    assert_eq!(
        f.roots.resolve_existing("ok.txt").unwrap(),
        f.root.join("sub/a.txt")
    );
}

#[test]
fn refusals_name_the_roots_but_not_where_a_symlink_points() {
    // SECURITY.md: the roots are disclosed to the client by design (it needs
    // them to recover); what lies outside them is not, not even as the
    // target of a refused or dangling symlink.
    let f = fixture();
    let hidden = f.outside.join("secret.txt");
    symlink(&hidden, f.root.join("link.txt")).unwrap();
    symlink(&f.outside, f.root.join("linkdir")).unwrap();
    symlink(f.outside.join("gone"), f.root.join("dangling")).unwrap();
    let root = f.root.to_string_lossy().into_owned();
    let out = f.outside.to_string_lossy().into_owned();
    let refusals = [
        f.roots.resolve_existing("link.txt").unwrap_err(),
        f.roots.resolve_existing("linkdir/secret.txt").unwrap_err(),
        f.roots.resolve_new("linkdir/new.txt").unwrap_err(),
        f.roots.resolve_dir(Some("linkdir")).unwrap_err(),
        f.roots.resolve_existing("dangling").unwrap_err(),
        f.roots.resolve_new("dangling").unwrap_err(),
        f.roots.open_read("link.txt").map(|_| ()).unwrap_err(),
        f.roots.resolve_existing("missing.txt").unwrap_err(),
    ];
    for e in refusals {
        let msg = e.to_string();
        assert!(!msg.contains(&out), "the refusal reveals {out}: {msg}");
        if matches!(e, RootsError::Outside { .. } | RootsError::NotFound { .. }) {
            assert!(
                msg.contains(&root),
                "the refusal should name the roots: {msg}"
            );
        }
    }
}

#[test]
fn resolve_new_checks_parent() {
    let f = fixture();
    assert_eq!(
        f.roots.resolve_new("sub/x/y/new.txt").unwrap(),
        f.root.join("sub/x/y/new.txt")
    );
    assert!(is_outside(f.roots.resolve_new("../evil.txt").unwrap_err()));
    assert!(is_outside(
        f.roots.resolve_new("/tmp/../evil.txt").unwrap_err()
    ));
    assert!(f.roots.resolve_new("nope/../../evil.txt").is_err());
    symlink(f.root.join("missing"), f.root.join("dangling")).unwrap();
    assert!(matches!(
        f.roots.resolve_new("dangling"),
        Err(RootsError::DanglingSymlink(_))
    ));
}

/// Found by the property test (tests/prop_roots.rs): `link/.` and `file/.`
/// used to resolve to the link or file itself, so a symlink pointing outside
/// (or looping) came back as a path to create.
#[test]
fn resolve_new_refuses_a_file_or_link_used_as_a_directory() {
    let f = fixture();
    symlink(f.outside.join("secret.txt"), f.root.join("out")).unwrap();
    symlink("loop", f.root.join("loop")).unwrap();
    for p in [
        "out/.",
        "loop/.",
        "sub/a.txt/.",
        "sub/a.txt/new",
        "loop/new",
    ] {
        assert!(
            matches!(f.roots.resolve_new(p), Err(RootsError::Io { .. })),
            "{p}: {:?}",
            f.roots.resolve_new(p)
        );
    }
    symlink(f.outside.join("new.txt"), f.root.join("dangling_out")).unwrap();
    assert!(matches!(
        f.roots.resolve_new("dangling_out/."),
        Err(RootsError::DanglingSymlink(_))
    ));
    // Outside the roots the answer stays "outside", whatever exists there.
    let probe = format!("{}/secret.txt/x", f.outside.display());
    assert!(is_outside(f.roots.resolve_new(&probe).unwrap_err()));
    assert!(is_outside(f.roots.resolve_existing(&probe).unwrap_err()));
}

#[test]
fn resolve_dir_defaults_and_checks() {
    let f = fixture();
    assert_eq!(f.roots.resolve_dir(None).unwrap(), f.root);
    assert_eq!(
        f.roots.resolve_dir(Some("sub")).unwrap(),
        f.root.join("sub")
    );
    assert!(matches!(
        f.roots.resolve_dir(Some("sub/a.txt")),
        Err(RootsError::NotADirectory(_))
    ));
}

#[test]
fn file_swapped_for_symlink_after_check_is_refused() {
    let f = fixture();
    let p = f.roots.resolve_existing("sub/a.txt").unwrap();
    std::fs::remove_file(&p).unwrap();
    symlink(f.outside.join("secret.txt"), &p).unwrap();
    let e = f
        .roots
        .open_verified(&p, OFlags::RDONLY, "sub/a.txt")
        .unwrap_err();
    assert!(is_outside(e));
}

#[test]
fn dir_swapped_for_symlink_after_check_is_refused() {
    let f = fixture();
    let p = f.roots.resolve_existing("sub/a.txt").unwrap();
    std::fs::remove_dir_all(f.root.join("sub")).unwrap();
    std::fs::write(f.outside.join("a.txt"), "secret").unwrap();
    symlink(&f.outside, f.root.join("sub")).unwrap();
    let e = f
        .roots
        .open_verified(&p, OFlags::RDONLY, "sub/a.txt")
        .unwrap_err();
    assert!(is_outside(e));
    let e = f.roots.open_dir(&f.root.join("sub"), "sub").unwrap_err();
    assert!(is_outside(e));
}

#[test]
fn open_read_reads_inside() {
    let f = fixture();
    let (_, mut file) = f.roots.open_read("sub/a.txt").unwrap();
    let mut s = String::new();
    io::Read::read_to_string(&mut file, &mut s).unwrap();
    assert_eq!(s, "inside");
}

#[test]
fn narrow_by_client_roots() {
    let f = fixture();
    let sub_uri = format!("file://{}", f.root.join("sub").display());
    let n = f.roots.narrow(&[sub_uri]).unwrap();
    assert_eq!(n.paths(), [f.root.join("sub")]);
    assert!(n.resolve_existing("a.txt").is_ok());
    assert!(is_outside(
        n.resolve_existing(f.root.to_str().unwrap()).unwrap_err()
    ));
    // A client root containing ours keeps ours.
    let parent_uri = format!("file://{}", f.root.parent().unwrap().display());
    assert_eq!(f.roots.narrow(&[parent_uri]).unwrap(), f.roots);
    // Disjoint: refused.
    let out_uri = format!("file://{}", f.outside.display());
    assert!(matches!(
        f.roots.narrow(&[out_uri, "https://x".into()]),
        Err(RootsError::NoOverlap { .. })
    ));
}

#[test]
fn file_uris_decode() {
    assert_eq!(
        file_uri_to_path("file:///a%20b/c").unwrap(),
        PathBuf::from("/a b/c")
    );
    assert_eq!(
        file_uri_to_path("file://localhost/x").unwrap(),
        PathBuf::from("/x")
    );
    assert!(file_uri_to_path("file:///a%00").is_none());
    assert!(file_uri_to_path("http://x/y").is_none());
    let v = serde_json::json!({"roots": [{"uri": "file:///a"}, {"name": "x"}]});
    assert_eq!(client_root_uris(&v), ["file:///a"]);
}

#[test]
fn open_beneath_never_leaves_the_directory() {
    let f = fixture();
    symlink(f.outside.join("secret.txt"), f.root.join("sub/leak")).unwrap();
    symlink(&f.outside, f.root.join("dirleak")).unwrap();
    symlink("a.txt", f.root.join("sub/inner")).unwrap();
    let dir = f.roots.open_dir(&f.root, ".").unwrap();
    let open = |rel: &str| {
        f.roots
            .open_beneath(&dir, &f.root, Path::new(rel), OFlags::RDONLY, rel)
    };
    let mut s = String::new();
    std::io::Read::read_to_string(&mut File::from(open("sub/a.txt").unwrap()), &mut s).unwrap();
    assert_eq!(s, "inside");
    assert!(is_outside(open("sub/leak").unwrap_err()));
    assert!(is_outside(open("dirleak/secret.txt").unwrap_err()));
    assert!(is_outside(open("../outside/secret.txt").unwrap_err()));
    // The final component is never followed, even to a file inside.
    assert!(is_outside(open("sub/inner").unwrap_err()));
}
