//! Opening the directory: in memory, or loaded from its durable copy (`--data-dir`).

use std::io;
use std::sync::{Arc, Mutex};

use crate::config::EmulatorConfig;
use crate::persist::Persist;
use crate::session::timers;
use crate::templates::Templates;

use super::{SlotState, Store, lock};

impl Store {
    /// An empty in-memory directory under `config`'s limits (`config.data_dir` is not used).
    pub(crate) fn in_memory(config: &EmulatorConfig) -> Self {
        Self {
            config: config.clone(),
            ..Self::default()
        }
    }

    /// An empty in-memory directory under `config`'s limits, or — with `config.data_dir` — the directory
    /// stored there (created when missing), kept durable from then on.
    pub(crate) fn open(config: &EmulatorConfig) -> io::Result<Self> {
        let mut store = Self::in_memory(config);
        if let Some(dir) = &config.templates {
            store.templates = Templates::load(dir)?;
        }
        let Some(dir) = &config.data_dir else {
            return Ok(store);
        };
        let persist = Persist::open(dir)?;
        let loaded = persist.load()?;
        {
            let mut handles = lock(&store.handles);
            let mut counts = lock(&store.handle_counts);
            for handle in loaded.handles {
                counts.add(handle.creator);
                handles.insert(handle);
            }
        }
        {
            let handles = lock(&store.handles);
            let mut sessions = lock(&store.sessions);
            let mut owners = lock(&store.owners);
            for (mut session, creator) in loaded.sessions {
                // A search handle deleted just before a crash may still be named by its session.
                if session
                    .search_handle()
                    .is_some_and(|id| !handles.contains(&id))
                {
                    session.put_search_handle(None);
                }
                let key = session.reference.key();
                session.set_creator(creator);
                if let Some(creator) = session.creator() {
                    owners.created(creator);
                }
                session.next_timer = timers::next_deadline(&session);
                lock(&store.deadlines).set(&key, session.next_timer);
                sessions.insert(
                    key,
                    Arc::new(Mutex::new(SlotState {
                        session: Some(Arc::new(session)),
                        ..SlotState::default()
                    })),
                );
            }
        }
        tracing::info!(dir = %dir.display(), "directory restored");
        store.persist = Some(persist);
        Ok(store)
    }
}
