use super::*;

#[test]
fn net_parses_all_none_and_ports() {
    assert_eq!("all".parse::<Net>().unwrap(), Net::All);
    assert_eq!("none".parse::<Net>().unwrap(), Net::None);
    assert_eq!(
        "443, 8080".parse::<Net>().unwrap(),
        Net::Ports(vec![443, 8080])
    );
    assert_eq!(Net::Ports(vec![443, 8080]).to_string(), "443,8080");
    assert!("70000".parse::<Net>().is_err());
    assert!("".parse::<Net>().is_err());
    assert!("http".parse::<Net>().is_err());
}

#[test]
fn limits_override_the_defaults_key_by_key() {
    let l: Limits = "nproc=64,as=1G,cpu=unlimited".parse().unwrap();
    assert_eq!(l.processes, Some(64));
    assert_eq!(l.address_space, Some(1 << 30));
    assert_eq!(l.cpu_seconds, None);
    assert_eq!(l.open_files, Limits::default().open_files);
    assert_eq!(l.file_size, Limits::default().file_size);
    assert_eq!(
        "fsize=10M".parse::<Limits>().unwrap().file_size,
        Some(10 << 20)
    );
    assert!("nproc".parse::<Limits>().is_err());
    assert!("mem=1G".parse::<Limits>().is_err());
    assert!("as=1Q".parse::<Limits>().is_err());
    assert!("as=-1".parse::<Limits>().is_err());
    let round: Limits = Limits::default().to_string().parse().unwrap();
    assert_eq!(round, Limits::default());
}

#[test]
fn mode_parses() {
    assert_eq!("".parse::<SandboxMode>().unwrap(), SandboxMode::Enforce);
    assert_eq!("on".parse::<SandboxMode>().unwrap(), SandboxMode::Enforce);
    assert_eq!(
        "best-effort".parse::<SandboxMode>().unwrap(),
        SandboxMode::BestEffort
    );
    assert!("off".parse::<SandboxMode>().is_err());
}

#[test]
fn policy_round_trips() {
    let p = Policy {
        best_effort: false,
        read: vec!["/usr".into()],
        write: vec!["/work/a b".into()],
        net: Net::Ports(vec![22]),
        limits: Limits::default(),
        cgroup: None,
    };
    assert_eq!(Policy::decode(&p.encode()).unwrap(), p);
    assert!(Policy::decode("{").is_err());
}

#[test]
fn the_abi_probe_matches_the_kernel() {
    let abi = landlock_abi();
    eprintln!("Landlock ABI of this kernel: {abi}");
    if std::env::var("CI").as_deref() == Ok("true") {
        assert!(abi >= 1, "CI's kernel must offer Landlock");
    }
    assert!(abi <= 7);
}

#[test]
fn a_sandbox_wraps_commands_in_the_helper_and_cleans_up() {
    let base = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let cfg = SandboxConfig {
        mode: SandboxMode::BestEffort,
        allow_read: vec![],
        allow_write: vec![],
        net: Net::All,
        limits: Limits::default(),
        helper: "/bin/lmcp-helper".into(),
        runtime_dir: Some(base.path().to_path_buf()),
    };
    let sb = Sandbox::new(cfg, &[root.path().to_path_buf()]).unwrap();
    let tmp = sb.tmpdir().to_path_buf();
    assert!(tmp.is_dir() && tmp.starts_with(base.path()));
    assert!(sb.writable().contains(&root.path().to_path_buf()));
    let cmd = sb.command("sh", &["-c", "true"], root.path());
    let std = cmd.as_std();
    assert_eq!(std.get_program(), "/bin/lmcp-helper");
    let args: Vec<_> = std
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    assert_eq!(args[0], HELPER_ARG);
    assert_eq!(&args[2..], ["--", "sh", "-c", "true"]);
    assert!(sb.describe().contains(&root.path().display().to_string()) || !sb.enforced());
    drop(sb);
    assert!(
        !tmp.exists(),
        "the private TMPDIR is removed with the sandbox"
    );
}
