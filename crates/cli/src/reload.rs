//! Reloading the assistants of `baton serve` while it runs: a folder's assistant when its files
//! change (with `--watch`, on by default in development mode), and every one on SIGHUP.
//!
//! A reload loads and checks the folder as at start (every problem printed with its place) and
//! trains the new classifier on this module's own thread, while the server goes on answering
//! with the assistant it has. Only an assistant without errors replaces it; a broken edit leaves
//! the previous version serving. Sessions carry on with the new version from their next message.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use notify::{EventKind, RecursiveMode, Watcher as _};

use baton_dialog::Engine;
use baton_server::Assistants;

/// How long the files must be quiet before a reload: an editor's save, or a `git checkout`,
/// writes several files (and some editors write a file twice).
const QUIET: Duration = Duration::from_millis(300);

/// What asks for a reload.
#[derive(Debug, Clone, Copy)]
enum Trigger {
    /// A file of the folder at this index changed.
    Changed(usize),
    /// The folder at this index was created (again) or moved into place: its own watch went with
    /// the folder it replaced, so it is watched anew.
    Recreated(usize),
    /// SIGHUP: every folder.
    All,
}

/// Keeps the reloads going; dropping it stops the watching (the SIGHUP task ends with the
/// runtime).
pub struct Reloader {
    _watcher: Option<SharedWatcher>,
    triggers: mpsc::Sender<Trigger>,
}

/// Starts reloading the assistants served from `dirs` (in the order they were loaded, each
/// with the id it is served under). With `watch`, a change to a folder's files reloads it.
pub fn start(dirs: Vec<(PathBuf, String)>, assistants: Assistants, watch: bool) -> anyhow::Result<Reloader> {
    let (triggers, received) = mpsc::channel();
    let watcher = match watch {
        true => Some(watch_folders(&dirs, triggers.clone())?),
        false => None,
    };
    let rewatch = watcher.clone();
    std::thread::Builder::new()
        .name("baton-reload".to_owned())
        .spawn(move || reload_loop(&dirs, &assistants, rewatch.as_ref(), &received))
        .context("starting the reload thread")?;
    Ok(Reloader {
        _watcher: watcher,
        triggers,
    })
}

impl Reloader {
    /// Reloads every assistant on SIGHUP, for as long as the runtime this is called in runs.
    pub fn on_hangup(&self) {
        #[cfg(unix)]
        {
            let triggers = self.triggers.clone();
            tokio::spawn(async move {
                let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
                    tracing::warn!("SIGHUP cannot be caught here: reload by restarting");
                    return;
                };
                while hangups.recv().await.is_some() {
                    tracing::info!("SIGHUP: reloading every assistant");
                    if triggers.send(Trigger::All).is_err() {
                        return;
                    }
                }
            });
        }
    }
}

/// The watcher, shared with the reload thread, which watches a recreated folder anew.
type SharedWatcher = Arc<Mutex<notify::RecommendedWatcher>>;

/// Watches each folder, with its sub-folders, for changes to the files an assistant is made of,
/// and the folder's parent (alone) for the folder being deleted and created again, as
/// `rm -rf` and a copy, or a tool that writes a new folder and renames it into place, do.
fn watch_folders(dirs: &[(PathBuf, String)], triggers: mpsc::Sender<Trigger>) -> anyhow::Result<SharedWatcher> {
    let roots: Vec<PathBuf> = dirs
        .iter()
        .map(|(dir, _)| dir.canonicalize().unwrap_or_else(|_| dir.clone()))
        .collect();
    let watched = roots.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let event = match event {
            Ok(event) => event,
            Err(error) => {
                tracing::warn!(%error, "watching the assistant folders");
                return;
            }
        };
        if !changes_content(&event.kind) {
            return;
        }
        let created = matches!(
            event.kind,
            EventKind::Create(_) | EventKind::Modify(notify::event::ModifyKind::Name(_))
        );
        for path in &event.paths {
            if created && let Some(index) = watched.iter().position(|root| path == root) {
                let _ = triggers.send(Trigger::Recreated(index));
                continue;
            }
            let Some(index) = watched.iter().position(|root| path.starts_with(root)) else {
                continue;
            };
            if is_assistant_file(path.strip_prefix(&watched[index]).unwrap_or(path)) {
                // The reload thread is gone only when the server is stopping.
                let _ = triggers.send(Trigger::Changed(index));
            }
        }
    })
    .context("starting to watch the assistant folders")?;
    for root in &roots {
        watcher
            .watch(root, RecursiveMode::Recursive)
            .with_context(|| format!("watching {}", root.display()))?;
        // Without the parent, a deleted folder is reloaded again only on SIGHUP.
        if let Some(parent) = root
            .parent()
            .filter(|parent| !roots.iter().any(|root| parent.starts_with(root)))
            && let Err(error) = watcher.watch(parent, RecursiveMode::NonRecursive)
        {
            tracing::warn!(folder = %parent.display(), %error, "not watching the folder that holds an assistant: if the assistant's folder is deleted and created again, reload it with SIGHUP");
        }
    }
    Ok(Arc::new(Mutex::new(watcher)))
}

/// Whether an event can change what a folder holds: not a read (reloading reads every file,
/// which must not look like a change) nor a change of metadata only.
fn changes_content(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(_) => false,
        EventKind::Modify(notify::event::ModifyKind::Metadata(_)) => false,
        EventKind::Any | EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) | EventKind::Other => true,
    }
}

/// Whether `relative` (a path inside an assistant folder) is a file the loader reads (YAML or
/// JSON) or a folder (no extension): not an editor's swap or backup file, nor anything under a
/// hidden folder such as `.git`.
fn is_assistant_file(relative: &Path) -> bool {
    let hidden = relative
        .components()
        .any(|component| component.as_os_str().to_str().is_some_and(|name| name.starts_with('.')));
    let extension = relative.extension().and_then(|extension| extension.to_str());
    !hidden && matches!(extension, None | Some("yaml" | "yml" | "json"))
}

/// Waits for triggers, lets the files settle, and reloads what changed; ends when every sender
/// is gone.
fn reload_loop(
    dirs: &[(PathBuf, String)],
    assistants: &Assistants,
    watcher: Option<&SharedWatcher>,
    triggers: &mpsc::Receiver<Trigger>,
) {
    while let Ok(first) = triggers.recv() {
        let mut pending = vec![false; dirs.len()];
        let mut recreated = vec![false; dirs.len()];
        let mut mark = |trigger: Trigger| match trigger {
            Trigger::Changed(index) => pending[index] = true,
            Trigger::Recreated(index) => {
                pending[index] = true;
                recreated[index] = true;
            }
            Trigger::All => pending.fill(true),
        };
        mark(first);
        while let Ok(next) = triggers.recv_timeout(QUIET) {
            mark(next);
        }
        for (index, (dir, id)) in dirs.iter().enumerate().filter(|(index, _)| pending[*index]) {
            if let (true, Some(watcher)) = (recreated[index], watcher) {
                rewatch(watcher, dir);
            }
            reload(dir, id, assistants);
        }
    }
}

/// Watches a folder that was created again, with its sub-folders.
fn rewatch(watcher: &SharedWatcher, dir: &Path) {
    let root = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
    let mut watcher = watcher.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    // A folder renamed into place may still be watched under its old name; unwatching fails then.
    let _ = watcher.unwatch(&root);
    match watcher.watch(&root, RecursiveMode::Recursive) {
        Ok(()) => tracing::info!(folder = %root.display(), "the assistant's folder was created again: watching it"),
        Err(error) => {
            tracing::warn!(folder = %root.display(), %error, "not watching the assistant's folder created again: reload it with SIGHUP")
        }
    }
}

/// Loads, checks and trains one folder's assistant and serves it in place of the running one.
fn reload(dir: &Path, id: &str, assistants: &Assistants) {
    let started = Instant::now();
    // What is refused is also shown on the preview page, beside the chat the author is trying.
    let refuse = |problems: Vec<String>| {
        if let Err(error) = assistants.refuse(id, problems) {
            tracing::error!(assistant = id, %error, "recording why a reload was refused");
        }
    };
    let assistant = match crate::check::load_or_problems(dir) {
        Ok(assistant) => assistant,
        Err(problems) => {
            tracing::error!(
                assistant = id,
                folder = %dir.display(),
                "not reloaded: the folder has errors (above); still serving the previous version"
            );
            refuse(problems);
            return;
        }
    };
    if assistant.id != id {
        let problem = format!(
            "the assistant's id changed from {id} to {}: restart the server to serve it under its new id",
            assistant.id
        );
        tracing::error!(assistant = id, "not reloaded: {problem}");
        refuse(vec![problem]);
        return;
    }
    let summary = crate::check::summary(&assistant);
    match assistants.replace(Engine::new(assistant)) {
        Ok(()) => tracing::info!(
            assistant = id,
            milliseconds = started.elapsed().as_millis() as u64,
            "reloaded {summary}"
        ),
        Err(error) => tracing::error!(assistant = id, %error, "not reloaded"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_files_an_assistant_is_made_of_trigger_a_reload() {
        for (path, reloads) in [
            ("assistant.yaml", true),
            ("actions/pay_bill.yml", true),
            ("tests/pay_bill.json", true),
            ("actions", true),
            ("actions/.pay_bill.yaml.swp", false),
            ("actions/pay_bill.yaml~", false),
            (".git/objects/ab/cdef", false),
            (".git/config", false),
            ("baton.db-wal", false),
            ("notes.md", false),
        ] {
            assert_eq!(is_assistant_file(Path::new(path)), reloads, "{path}");
        }
    }
}
