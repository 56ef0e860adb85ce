//! What the overview shows of each container: its state and latest figures, and an hour of one-minute
//! samples (CPU, memory, lines by level) for the sparklines, kept in memory by the collector. About
//! 1.5 KiB a container, so 1000 containers hold under 2 MiB.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

use crate::container::ContainerName;
use crate::logs::levels::Level;

/// Minutes of samples kept: the last hour.
pub const MINUTES: usize = 60;

/// Where a container stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// In the engine's list of running containers at the last tick.
    Running,
    /// Known to the collector but not running (stopped, or removed within CONTAINER_RETENTION).
    Stopped,
    /// Only its log files are left in LOGS_DIR (removed, or from an earlier run).
    Gone,
}

/// The latest figures of a container, as the scrape has them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    /// `container_started_at_timestamp_seconds`.
    pub started_at: Option<i64>,
    /// `container_cpu_usage_percent`: cores in use.
    pub cpu_cores: f64,
    /// `container_cpus_available`.
    pub cpus_available: f64,
    /// `container_used_memory_bytes`.
    pub memory_bytes: u64,
    /// `container_max_memory_bytes`.
    pub memory_limit_bytes: u64,
}

/// One minute of samples. Compact on purpose: 1000 containers x 60 minutes of these are the charts'
/// whole memory.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Minute {
    /// Unix minutes (seconds / 60); 0 for a minute with no sample.
    minute: u32,
    /// Highest CPU cores in use seen in that minute.
    cpu: f32,
    /// Highest memory use seen, bytes (f32 keeps 7 digits: enough for a chart).
    memory: f32,
    /// Lines written, by level as [`Level::ALL`].
    lines: [u32; 3],
}

#[derive(Debug, Clone)]
struct Card {
    state: State,
    figures: Option<Figures>,
    minutes: Box<[Minute; MINUTES]>,
}

impl Card {
    fn new(state: State) -> Card {
        Card {
            state,
            figures: None,
            minutes: Box::new([Minute::default(); MINUTES]),
        }
    }

    /// The sample of `minute`, started fresh when its slot still holds an older minute.
    fn minute(&mut self, minute: u32) -> &mut Minute {
        let slot = &mut self.minutes[minute as usize % MINUTES];
        if slot.minute != minute {
            *slot = Minute {
                minute,
                ..Minute::default()
            };
        }
        slot
    }
}

/// The overview's data, shared by the collector (which writes) and the web pages (which read).
#[derive(Debug, Clone, Default)]
pub struct Board {
    cards: Arc<Mutex<BTreeMap<ContainerName, Card>>>,
    /// What LOGS_DIR keeps, and each container's bytes as the last scan found them.
    kept: Arc<Mutex<(Kept, HashMap<ContainerName, u64>)>>,
}

/// What LOGS_DIR keeps, as the overview shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Kept {
    /// Bytes under LOGS_DIR at the last tick; `None` when neither LOGS_MAX_TOTAL_BYTES nor
    /// LOGS_KEEP_REMOVED is on (nothing measures it then).
    pub bytes: Option<u64>,
    /// LOGS_MAX_TOTAL_BYTES; `None`: no budget.
    pub budget: Option<u64>,
    /// LOGS_KEEP_REMOVED in seconds; `None`: a removed container's files are kept for ever.
    pub keep_removed_secs: Option<u64>,
}

/// One container as the overview shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The container's name.
    pub name: ContainerName,
    /// Running, stopped or gone.
    pub state: State,
    /// `container_started_at_timestamp_seconds`, when known.
    pub started_at: Option<i64>,
    /// Cores in use.
    pub cpu_cores: Option<f64>,
    /// CPUs available to it.
    pub cpus_available: Option<f64>,
    /// Memory in use, bytes.
    pub memory_bytes: Option<u64>,
    /// Bytes of its files in LOGS_DIR at the last scan (with a budget or LOGS_KEEP_REMOVED on).
    pub kept_bytes: Option<u64>,
    /// Its memory limit, bytes.
    pub memory_limit_bytes: Option<u64>,
    /// Lines written in the last hour: info, warning, error.
    pub last_hour: LastHour,
    /// One value a minute, oldest first, the current minute last: CPU cores, memory bytes, error
    /// lines. A minute without a sample is `null`.
    pub spark: Spark,
}

/// Lines of the last hour by level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LastHour {
    /// Info lines.
    pub info: u64,
    /// Warning lines.
    pub warning: u64,
    /// Error lines.
    pub error: u64,
}

/// The sparklines' points.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Spark {
    /// CPU cores in use, highest of each minute.
    pub cpu: Vec<Option<f32>>,
    /// Memory in use, highest of each minute.
    pub memory: Vec<Option<f32>>,
    /// Error lines of each minute.
    pub errors: Vec<u32>,
}

fn unix_minute(unix_secs: i64) -> u32 {
    u32::try_from(unix_secs.max(0) / 60).unwrap_or(u32::MAX)
}

impl Board {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<ContainerName, Card>> {
        self.cards.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The settings the overview shows beside the bytes kept: LOGS_MAX_TOTAL_BYTES (0: none) and
    /// LOGS_KEEP_REMOVED.
    pub fn with_budget(self, max_total: u64, keep_removed: Option<std::time::Duration>) -> Board {
        {
            let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
            kept.0.budget = (max_total > 0).then_some(max_total);
            kept.0.keep_removed_secs = keep_removed.map(|d| d.as_secs());
        }
        self
    }

    /// LOGS_DIR holds `bytes` after a tick; a scan found `by_container` (when it ran), and the
    /// budget deleted `gone` whole, whose cards leave the overview unless they run again.
    pub fn on_disk(
        &self,
        bytes: u64,
        by_container: Option<&[(ContainerName, u64)]>,
        gone: &[ContainerName],
    ) {
        {
            let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
            kept.0.bytes = Some(bytes);
            if let Some(by) = by_container {
                kept.1 = by.iter().cloned().collect();
            }
        }
        let mut cards = self.lock();
        for name in gone {
            if cards.get(name).is_some_and(|c| c.state != State::Running) {
                cards.remove(name);
            }
        }
    }

    /// What LOGS_DIR keeps.
    pub fn kept(&self) -> Kept {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner).0
    }

    /// New figures of `container`, collected at `unix_secs`.
    pub fn on_figures(&self, container: &ContainerName, figures: Figures, unix_secs: i64) {
        let mut cards = self.lock();
        let card = cards
            .entry(container.clone())
            .or_insert_with(|| Card::new(State::Running));
        // Inspect may not say when it started this time: keep what it said before, as the scrape does.
        let started_at = figures
            .started_at
            .or(card.figures.and_then(|f| f.started_at));
        card.figures = Some(Figures {
            started_at,
            ..figures
        });
        let m = card.minute(unix_minute(unix_secs));
        m.cpu = m.cpu.max(figures.cpu_cores as f32);
        m.memory = m.memory.max(figures.memory_bytes as f32);
    }

    /// `n` lines of `level` were written for `container` at `unix_secs`.
    pub fn on_lines(&self, container: &ContainerName, level: Level, n: u64, unix_secs: i64) {
        let mut cards = self.lock();
        let card = cards
            .entry(container.clone())
            .or_insert_with(|| Card::new(State::Running));
        let m = card.minute(unix_minute(unix_secs));
        let i = level.index();
        m.lines[i] = m.lines[i].saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
    }

    /// The state of every container after a tick: those in `running` run, the others the collector
    /// still knows are stopped.
    pub fn on_tick<'a>(&self, running: impl IntoIterator<Item = &'a ContainerName>) {
        let running: std::collections::HashSet<&ContainerName> = running.into_iter().collect();
        let mut cards = self.lock();
        for name in &running {
            cards
                .entry((*name).clone())
                .or_insert_with(|| Card::new(State::Running))
                .state = State::Running;
        }
        for (name, card) in cards.iter_mut() {
            if card.state == State::Running && !running.contains(name) {
                card.state = State::Stopped;
            }
        }
    }

    /// Containers whose logs are kept but that the collector does not watch now (directories of
    /// LOGS_DIR left by removed containers or earlier runs).
    pub fn on_history<'a>(&self, names: impl IntoIterator<Item = &'a ContainerName>) {
        let mut cards = self.lock();
        for name in names {
            cards
                .entry(name.clone())
                .or_insert_with(|| Card::new(State::Gone));
        }
    }

    /// The collector forgot `container` (CONTAINER_RETENTION): its figures go, its logs stay.
    pub fn forget(&self, container: &ContainerName) {
        if let Some(card) = self.lock().get_mut(container) {
            card.state = State::Gone;
            card.figures = None;
        }
    }

    /// Whether `container` is one the overview lists. A `&str`: the name comes from a URL, and only
    /// one that is known becomes a [`ContainerName`].
    pub fn knows(&self, container: &str) -> bool {
        self.lock().contains_key(container)
    }

    /// The name of every container the overview lists, in order.
    pub fn names(&self) -> Vec<ContainerName> {
        self.lock().keys().cloned().collect()
    }

    /// Every container, those with errors in the last hour first (most errors first), then by name;
    /// sparklines end at `unix_secs`.
    pub fn summaries(&self, unix_secs: i64) -> Vec<Summary> {
        let now = unix_minute(unix_secs);
        let first = now.saturating_sub(MINUTES as u32 - 1);
        let by_container = self
            .kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            .clone();
        let cards = self.lock();
        let mut out: Vec<Summary> = cards
            .iter()
            .map(|(name, card)| {
                let mut spark = Spark::default();
                let mut hour = LastHour::default();
                for minute in first..=now {
                    let slot = card.minutes[minute as usize % MINUTES];
                    let here = slot.minute == minute;
                    spark.cpu.push(here.then_some(slot.cpu));
                    spark.memory.push(here.then_some(slot.memory));
                    let lines = if here { slot.lines } else { [0; 3] };
                    spark.errors.push(lines[2]);
                    hour.info += u64::from(lines[0]);
                    hour.warning += u64::from(lines[1]);
                    hour.error += u64::from(lines[2]);
                }
                let f = card.figures;
                Summary {
                    name: name.clone(),
                    state: card.state,
                    started_at: f.and_then(|f| f.started_at),
                    cpu_cores: f.map(|f| f.cpu_cores),
                    cpus_available: f.map(|f| f.cpus_available),
                    memory_bytes: f.map(|f| f.memory_bytes),
                    kept_bytes: by_container.get(name).copied(),
                    memory_limit_bytes: f.map(|f| f.memory_limit_bytes),
                    last_hour: hour,
                    spark,
                }
            })
            .collect();
        drop(cards);
        out.sort_by(|a, b| {
            b.last_hour
                .error
                .cmp(&a.last_hour.error)
                .then_with(|| a.name.cmp(&b.name))
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_795_000_000 - 1_795_000_000 % 60;

    fn names<const N: usize>(names: [&str; N]) -> Vec<ContainerName> {
        names.map(ContainerName::from).to_vec()
    }

    #[test]
    fn containers_with_errors_come_first_then_by_name() {
        let b = Board::default();
        b.on_tick(&names(["b", "a", "c"]));
        b.on_lines(&"c".into(), Level::Error, 1, T);
        b.on_lines(&"b".into(), Level::Error, 5, T);
        b.on_lines(&"a".into(), Level::Info, 9, T);
        let order: Vec<String> = b
            .summaries(T)
            .into_iter()
            .map(|s| s.name.to_string())
            .collect();
        assert_eq!(order, ["b", "c", "a"]);
    }

    #[test]
    fn the_last_hour_counts_lines_by_level_and_forgets_older_minutes() {
        let b = Board::default();
        b.on_lines(&"a".into(), Level::Error, 2, T - 3600);
        b.on_lines(&"a".into(), Level::Error, 3, T - 60);
        b.on_lines(&"a".into(), Level::Warning, 1, T);
        b.on_lines(&"a".into(), Level::Info, 4, T + 59);
        let s = &b.summaries(T + 59)[0];
        assert_eq!(
            s.last_hour,
            LastHour {
                info: 4,
                warning: 1,
                error: 3
            }
        );
        assert_eq!(s.spark.errors.len(), MINUTES);
        assert_eq!(s.spark.errors[MINUTES - 2], 3);
        assert_eq!(s.spark.errors[MINUTES - 1], 0);
    }

    #[test]
    fn sparklines_hold_the_highest_value_of_each_minute_and_gaps_stay_empty() {
        let b = Board::default();
        let f = |cpu: f64, mem: u64| Figures {
            cpu_cores: cpu,
            memory_bytes: mem,
            cpus_available: 2.0,
            memory_limit_bytes: 1 << 30,
            started_at: Some(5),
        };
        b.on_figures(&"a".into(), f(0.5, 100), T - 120);
        b.on_figures(&"a".into(), f(1.5, 300), T);
        b.on_figures(&"a".into(), f(0.25, 200), T + 30);
        let s = &b.summaries(T + 30)[0];
        assert_eq!(s.spark.cpu[MINUTES - 1], Some(1.5));
        assert_eq!(s.spark.memory[MINUTES - 1], Some(300.0));
        assert_eq!(s.spark.cpu[MINUTES - 2], None);
        assert_eq!(s.spark.cpu[MINUTES - 3], Some(0.5));
        assert_eq!(s.cpu_cores, Some(0.25), "the latest figure, as the scrape");
        assert_eq!(s.memory_bytes, Some(200));
    }

    #[test]
    fn a_container_that_stops_is_stopped_and_a_forgotten_one_is_gone_with_its_history() {
        let b = Board::default();
        b.on_tick(&names(["a", "b"]));
        b.on_tick(&names(["a"]));
        b.on_history(&names(["old", "a"]));
        b.forget(&"b".into());
        let states: Vec<(String, State)> = b
            .summaries(T)
            .into_iter()
            .map(|s| (s.name.to_string(), s.state))
            .collect();
        assert_eq!(
            states,
            [
                ("a".to_string(), State::Running),
                ("b".to_string(), State::Gone),
                ("old".to_string(), State::Gone)
            ]
        );
        assert!(b.knows("old") && !b.knows("nope"));
    }
}
