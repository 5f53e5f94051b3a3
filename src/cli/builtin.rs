//! Maps the command line's tool, shell, file and web flags onto the
//! configurations of the built-in tools: what `lmcp` serves for a [`Cli`].

use super::Cli;
use std::time::Duration;

/// The built-in tools the flags ask for, with the file resources and the
/// job manager the shell_bg tools share (shut down at exit).
pub struct Builtin {
    /// The selected tools.
    pub tools: Vec<crate::Tool>,
    /// The `file://` resources over the roots.
    pub file_resources: crate::server::ResourceProvider,
    /// The template those resources answer to.
    pub file_template: crate::ResourceTemplate,
    /// The job manager shell_bg and its companions share.
    pub jobs: std::sync::Arc<crate::tools::jobs::JobManager>,
}

/// Builds the built-in tools from the tool, shell (and web) flags.
pub fn builtin(cli: &Cli) -> Result<Builtin, String> {
    // --read-only is applied with --tools/--disable (select_tools), by annotation.
    let mut fs_config = crate::tools::fs::FsConfig {
        read_only: cli.read_only,
        trust_client_roots: cli.trust_client_roots,
        roots_from_client: cli.roots_from_client,
        roots_given: !cli.root.is_empty(),
        image_max_edge: cli.image_max_edge,
        ..Default::default()
    };
    if let Some(n) = cli.max_result_bytes {
        fs_config.max_result_bytes = n.max(crate::tools::budget::MIN_RESULT_BYTES);
    }
    if !cli.root.is_empty() {
        fs_config.roots =
            crate::tools::roots::Roots::new(cli.root.clone()).map_err(|e| e.to_string())?;
    }
    crate::tools::system::mark_start();
    if let Err(e) = crate::tools::process::exec::become_subreaper() {
        log::debug!(
            "cannot become a child subreaper ({e}); orphaned grandchildren are reaped by init"
        );
    }
    let roots = fs_config.roots.clone();
    let mut shell_config = crate::tools::shell::ShellConfig {
        cwd: std::sync::Arc::new(move |dir: Option<&str>| {
            roots.resolve_dir(dir).map_err(|e| e.to_string())
        }),
        ..Default::default()
    };
    apply_shell_flags(cli, &mut shell_config)?;
    shell_config.instance_id = cli.instance_id.clone();
    // shell's head-and-tail cut is measured against the same budget: each
    // of stdout and stderr keeps half of it unless --shell-output-bytes says otherwise.
    if let (None, Some(n)) = (cli.shell_output_bytes, cli.max_result_bytes) {
        shell_config.output_cap = (n / 2).clamp(128, shell_config.max_output_cap);
    }
    if let Some(n) = cli.max_result_bytes {
        shell_config.max_result_bytes = n.max(crate::tools::budget::MIN_RESULT_BYTES);
    }
    if let Some(config) = cli.sandbox_config()? {
        let sandbox = crate::tools::sandbox::Sandbox::new(config, fs_config.roots.paths());
        shell_config.sandbox = Some(sandbox.map_err(|e| e.to_string())?);
    }
    let shell_config = std::sync::Arc::new(shell_config);
    let jobs = crate::tools::jobs::JobManager::for_server(shell_config.clone());
    let mut tools = crate::tools::builtin();
    tools.extend(crate::tools::shell::tools(shell_config, jobs.clone()));
    #[cfg(feature = "web")]
    tools.extend(crate::tools::web::tools(std::sync::Arc::new(web_config(
        cli,
    )?)));
    let fs_config = std::sync::Arc::new(fs_config);
    let (file_resources, file_template) = crate::tools::fs::resources(fs_config.clone());
    tools.extend(crate::tools::fs::tools(fs_config.clone()));
    if cli.read_only {
        // The writers too, so --tools/--disable know their names; select_tools
        // leaves them out. The others come from `fs_config` (list_roots says
        // read-only).
        let writable = crate::tools::fs::FsConfig {
            read_only: false,
            ..(*fs_config).clone()
        };
        let all = crate::tools::fs::tools(std::sync::Arc::new(writable));
        tools.extend(
            all.into_iter()
                .filter(|t| t.annotations.read_only_hint != Some(true)),
        );
    }
    let tools = select_tools(tools, &cli.tools, &cli.disable, cli.read_only)?;
    let bg_served = tools.iter().any(|t| t.name == "shell_bg");
    let shell_served = tools.iter().any(|t| t.name == "shell");
    if shell_served
        && !bg_served
        && jobs.config().on_timeout == crate::tools::shell::OnTimeout::Background
    {
        return Err(
            "--shell-on-timeout background leaves commands running as shell_bg jobs, but shell_bg is not served; \
             add shell_bg to --tools (or drop it from --disable), or leave out --shell-on-timeout"
                .into(),
        );
    }
    jobs.set_served(bg_served);
    Ok(Builtin {
        tools,
        file_resources,
        file_template,
        jobs,
    })
}

/// The configuration of the fetch and web_search tools from their flags.
#[cfg(feature = "web")]
fn web_config(cli: &Cli) -> Result<crate::tools::web::WebConfig, String> {
    use crate::tools::web::SearchBackend;
    let mut web = crate::tools::web::WebConfig {
        allow_private: cli.fetch_allow_private,
        respect_robots: cli.fetch_respect_robots,
        searxng_url: cli.searxng_url.clone(),
        brave_key_file: cli.brave_key_file.clone(),
        image_max_edge: cli.image_max_edge,
        ..Default::default()
    };
    if let Some(b) = cli.search_backend {
        web.search_backend = b;
    }
    if let Some(url) = &cli.search_url {
        match web.search_backend {
            SearchBackend::DuckDuckGo => web.duckduckgo_url = url.clone(),
            SearchBackend::Brave => web.brave_url = url.clone(),
            SearchBackend::Searxng => {
                return Err(
                    "--search-url is for duckduckgo and brave; SearXNG takes --searxng-url".into(),
                )
            }
        }
    }
    if let Some(ua) = &cli.fetch_user_agent {
        web.user_agent = ua.clone();
    }
    if let Some(n) = cli.fetch_max_bytes {
        web.max_body_bytes = n;
    }
    if let Some(n) = cli.fetch_max_redirects {
        web.max_redirects = n;
    }
    Ok(web)
}

/// Applies the shell and job flags to `cfg`.
fn apply_shell_flags(cli: &Cli, cfg: &mut crate::tools::shell::ShellConfig) -> Result<(), String> {
    if let Some(program) = &cli.shell {
        let words = shlex::split(program)
            .filter(|w| !w.is_empty())
            .ok_or_else(|| {
                format!("--shell {program:?}: give a program, e.g. --shell 'bash -c'")
            })?;
        cfg.shell = words;
    }
    let ms = Duration::from_millis;
    if let Some(v) = cli.shell_max_timeout_ms {
        cfg.max_timeout = ms(v);
    }
    if let Some(v) = cli.shell_timeout_ms {
        cfg.default_timeout = ms(v);
    }
    if cfg.default_timeout > cfg.max_timeout {
        return Err(format!(
            "--shell-timeout-ms ({} ms) exceeds --shell-max-timeout-ms ({} ms)",
            cfg.default_timeout.as_millis(),
            cfg.max_timeout.as_millis()
        ));
    }
    if let Some(v) = cli.shell_max_output_bytes {
        cfg.max_output_cap = v;
    }
    if let Some(v) = cli.shell_output_bytes {
        cfg.output_cap = v;
    }
    if cfg.output_cap > cfg.max_output_cap {
        return Err(format!(
            "--shell-output-bytes ({}) exceeds --shell-max-output-bytes ({})",
            cfg.output_cap, cfg.max_output_cap
        ));
    }
    if let Some(v) = cli.max_jobs {
        cfg.max_jobs = v.max(1);
        cfg.max_job_records = cfg.max_job_records.max(cfg.max_jobs);
    }
    if let Some(v) = cli.job_buffer_bytes {
        cfg.job_buffer_bytes = v.max(1024);
    }
    if let Some(v) = cli.job_retention_secs {
        cfg.job_retention = Duration::from_secs(v);
    }
    if cli.shell_on_timeout.as_deref() == Some("background") {
        cfg.on_timeout = crate::tools::shell::OnTimeout::Background;
    }
    Ok(())
}

/// Keeps the built-in tools `--tools` names (all when empty), minus those
/// `--disable` names; with `read_only`, only those annotated read-only. An
/// unknown name, or one --read-only leaves out named in --tools, is an error.
fn select_tools(
    tools: Vec<crate::Tool>,
    only: &[String],
    disable: &[String],
    read_only: bool,
) -> Result<Vec<crate::Tool>, String> {
    let known: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    for name in only.iter().chain(disable) {
        if !known.contains(&name.trim()) {
            return Err(format!(
                "unknown tool {name:?} in --tools/--disable; the built-in tools here are: {}",
                known.join(", ")
            ));
        }
    }
    let wanted = |n: &str| {
        (only.is_empty() || only.iter().any(|o| o.trim() == n))
            && !disable.iter().any(|d| d.trim() == n)
    };
    let changes = |t: &crate::Tool| t.annotations.read_only_hint != Some(true);
    if let Some(t) = tools
        .iter()
        .find(|t| read_only && changes(t) && only.iter().any(|o| o.trim() == t.name))
    {
        return Err(format!(
            "--tools names {}, which changes things, and --read-only leaves out such tools; drop one of the two",
            t.name
        ));
    }
    let (mut kept, all): (Vec<crate::Tool>, Vec<crate::Tool>) = tools
        .into_iter()
        .partition(|t| wanted(&t.name) && !(read_only && changes(t)));
    // The shell_bg_* companions act on jobs only shell_bg starts, and jobs
    // nobody can read or stop are no use: shell_bg brings its companions.
    let bg_named = only.iter().any(|o| o.trim() == "shell_bg");
    if bg_named {
        // `all` holds only what was not kept: companions not yet there.
        let missing: Vec<crate::Tool> = all
            .into_iter()
            .filter(|t| {
                let disabled = disable.iter().any(|d| d.trim() == t.name);
                let refused = read_only && changes(t);
                t.name.starts_with("shell_bg_") && !(disabled || refused)
            })
            .collect();
        kept.extend(missing);
    }
    if !kept.iter().any(|t| t.name == "shell_bg") {
        if let Some(n) = only.iter().find(|o| o.trim().starts_with("shell_bg_")) {
            return Err(format!(
                "--tools names {n}, which acts on jobs that shell_bg starts; add shell_bg (and leave out --read-only)"
            ));
        }
        kept.retain(|t| !t.name.starts_with("shell_bg_"));
    }
    Ok(kept)
}
