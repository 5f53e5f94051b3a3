//! Watches the files clients subscribed to (as `file://` resources) and
//! announces their changes. Each file is watched through its directory
//! (non-recursively), so a file replaced by rename, as editors and
//! `write_file` do, stays watched; subscriptions are counted, and a
//! directory is unwatched when its last subscribed file is.

use crate::server::Notifier;
use crate::tools::roots::{file_uri_to_path, Roots};
use notify::{EventKind, RecursiveMode, Watcher as _};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct State {
    /// Watched file → (its URIs with their subscription counts).
    files: HashMap<PathBuf, HashMap<String, usize>>,
    /// Watched directory → number of watched files in it.
    dirs: HashMap<PathBuf, usize>,
    /// Where changes go (set on the first subscription).
    notifier: Option<Notifier>,
}

/// The watcher behind resource subscriptions.
pub(crate) struct Watcher {
    roots: Roots,
    state: Arc<Mutex<State>>,
    inner: Mutex<Option<notify::RecommendedWatcher>>,
}

impl Watcher {
    /// A watcher for files inside `roots`; nothing is watched until asked.
    pub(crate) fn new(roots: Roots) -> Self {
        Watcher {
            roots,
            state: Arc::new(Mutex::new(State::default())),
            inner: Mutex::new(None),
        }
    }

    /// Start (`on`) or stop watching the file behind `uri`. URIs that are not
    /// `file://` paths inside the roots are ignored (and logged).
    pub(crate) fn watch(&self, uri: &str, on: bool, notifier: &Notifier) {
        let Some(path) = file_uri_to_path(uri) else {
            log::debug!("not watching {uri}: not a file:// URI");
            return;
        };
        let Some(user) = path.to_str() else {
            return;
        };
        let file = match self.roots.resolve_new(user) {
            Ok(p) => p,
            Err(e) => {
                log::warn!("not watching {uri}: {e}");
                return;
            }
        };
        let Some(dir) = file.parent().map(Path::to_path_buf) else {
            return;
        };
        // Lock order: the watcher, then the state. The watcher's event thread
        // takes only the state, so it never waits on a (un)watch in progress.
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let change = {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            st.notifier.get_or_insert_with(|| notifier.clone());
            update(&mut st, file, dir, uri, on)
        };
        match change {
            Some((dir, true)) => self.add_dir(&mut inner, &dir),
            Some((dir, false)) => {
                if let Some(w) = inner.as_mut() {
                    let _ = w.unwatch(&dir);
                }
            }
            None => {}
        }
    }

    fn add_dir(&self, inner: &mut Option<notify::RecommendedWatcher>, dir: &Path) {
        if inner.is_none() {
            let state = self.state.clone();
            match notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
                deliver(&state, ev)
            }) {
                Ok(w) => *inner = Some(w),
                Err(e) => {
                    log::warn!("cannot watch files for resource subscriptions: {e}");
                    return;
                }
            }
        }
        if let Some(w) = inner.as_mut() {
            if let Err(e) = w.watch(dir, RecursiveMode::NonRecursive) {
                log::warn!("cannot watch {}: {e}", dir.display());
            }
        }
    }
}

/// Count a subscription to `file` (in `dir`) under `uri` in or out; the
/// directory to start (`true`) or stop watching, if any.
fn update(
    st: &mut State,
    file: PathBuf,
    dir: PathBuf,
    uri: &str,
    on: bool,
) -> Option<(PathBuf, bool)> {
    if on {
        let uris = st.files.entry(file).or_default();
        let new_file = uris.is_empty();
        *uris.entry(uri.to_owned()).or_insert(0) += 1;
        if !new_file {
            return None;
        }
        let n = st.dirs.entry(dir.clone()).or_insert(0);
        *n += 1;
        return (*n == 1).then_some((dir, true));
    }
    let uris = st.files.get_mut(&file)?;
    match uris.get_mut(uri)? {
        n if *n > 1 => {
            *n -= 1;
            return None;
        }
        _ => {
            uris.remove(uri);
        }
    }
    if !uris.is_empty() {
        return None;
    }
    st.files.remove(&file);
    let n = st.dirs.get_mut(&dir)?;
    *n -= 1;
    if *n > 0 {
        return None;
    }
    st.dirs.remove(&dir);
    Some((dir, false))
}

/// Announce a file event to the subscribers of the files it touches.
fn deliver(state: &Mutex<State>, ev: notify::Result<notify::Event>) {
    let ev = match ev {
        Ok(ev) => ev,
        Err(e) => {
            log::warn!("file watcher: {e}");
            return;
        }
    };
    if matches!(ev.kind, EventKind::Access(_)) {
        return;
    }
    let st = state.lock().unwrap_or_else(|e| e.into_inner());
    let Some(notifier) = &st.notifier else {
        return;
    };
    for p in &ev.paths {
        if let Some(uris) = st.files.get(p) {
            for uri in uris.keys() {
                notifier.resource_updated(uri);
            }
        }
    }
}
