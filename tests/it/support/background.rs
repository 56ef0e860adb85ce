//! A fake engine that answers on threads of its own while a test blocks.

use std::ops::Deref;

use tokio::runtime::Runtime;

use super::{FakeEngine, Listen};

/// A [`FakeEngine`] on a runtime of its own. The end-to-end tests run the collector as a process and
/// wait for it with plain sleeps and blocking reads, so the engine needs threads that go on answering
/// meanwhile. It derefs to the [`FakeEngine`], whose methods change what the engine shows.
pub struct Engine {
    // Declared first so that it is dropped while its runtime still runs.
    fake: FakeEngine,
    runtime: Runtime,
    /// Holds the unix socket of an engine behind one.
    _socket_dir: Option<tempfile::TempDir>,
}

impl Engine {
    /// Starts an empty engine on a free port.
    pub fn start() -> Engine {
        let runtime = Runtime::new().expect("a runtime for the fake engine");
        let fake = runtime.block_on(FakeEngine::start());
        Engine {
            fake,
            runtime,
            _socket_dir: None,
        }
    }

    /// Starts an empty engine on a unix socket that takes connections as `listen` says (its
    /// backlog, a cap on connections at once), keeping no record of the requests.
    pub fn behind_socket(listen: Listen) -> Engine {
        let runtime = Runtime::new().expect("a runtime for the fake engine");
        let dir = tempfile::tempdir().expect("a directory for the engine's socket");
        let path = dir.path().join("docker.sock");
        let fake = runtime.block_on(FakeEngine::behind_socket(&path, listen, false));
        Engine {
            fake,
            runtime,
            _socket_dir: Some(dir),
        }
    }

    /// Starts an empty engine on `port`, e.g. one the collector was already pointed at.
    pub fn start_on(port: u16) -> Engine {
        let runtime = Runtime::new().expect("a runtime for the fake engine");
        let fake = runtime.block_on(FakeEngine::start_on_port(port));
        Engine {
            fake,
            runtime,
            _socket_dir: None,
        }
    }

    /// Stops answering: from now on the port refuses connections. Returns the port, for
    /// [`Engine::start_on`].
    pub fn shut_down(self) -> u16 {
        self.fake.port()
    }

    /// Every request received so far: (method, path with query).
    pub fn requests(&self) -> Vec<(String, String)> {
        self.runtime.block_on(self.fake.requests())
    }
}

impl Deref for Engine {
    type Target = FakeEngine;

    fn deref(&self) -> &FakeEngine {
        &self.fake
    }
}
