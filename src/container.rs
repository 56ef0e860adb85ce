//! What the collector knows of one container: shared by the engine side that reads it and the
//! metrics and logs sides that use it.

use std::fmt;

/// The engine's full id of a container (64 hex digits). A name can pass from one container to the
/// next (a recreated service); the id cannot, so what is remembered of a container is keyed by it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContainerId(String);

impl ContainerId {
    /// The id as the engine wrote it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 characters, as `docker ps` shows them: the name of a container the engine
    /// listed without one.
    pub fn short(&self) -> String {
        self.0.chars().take(12).collect()
    }
}

impl From<String> for ContainerId {
    fn from(id: String) -> ContainerId {
        ContainerId(id)
    }
}

impl From<&str> for ContainerId {
    fn from(id: &str) -> ContainerId {
        ContainerId(id.to_string())
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A container to visit this tick.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContainerRef {
    /// The engine's full id.
    pub id: ContainerId,
    /// Its name without the leading `/`: the `container` label and the log directory's name.
    pub name: String,
    /// Whether it was in this tick's list of running containers (false: it was running at the previous
    /// tick and is visited once more so its last lines are not lost).
    pub running: bool,
}
