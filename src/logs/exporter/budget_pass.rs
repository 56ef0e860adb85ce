//! The budget pass at the end of a tick, after its commit and in the same task, so no rotation or
//! commit runs while files are deleted: what [`crate::logs::budget`] chooses is done here, where
//! the cursors are.

use std::collections::{BTreeMap, HashSet};

use tracing::{debug, info, warn};

use super::{DiskReport, LogsExporter, TARGET};
use crate::container::ContainerName;
use crate::engine::Containers;
use crate::logs::budget::{self, choose, Inventory, Keeper, Plan, Reason, Step};
use crate::logs::container::Written;

/// Containers named in the pass's line, at most.
const NAMED: usize = 5;

/// What a pass did.
#[derive(Debug, Default)]
struct Done {
    freed: BTreeMap<Reason, u64>,
    files: usize,
    gone: Vec<ContainerName>,
    failed: usize,
}

impl LogsExporter {
    /// Counts what the tick wrote and, when a pass is due, keeps LOGS_DIR within the budget.
    /// `None` when neither LOGS_MAX_TOTAL_BYTES nor LOGS_KEEP_REMOVED is on.
    pub(super) async fn keep_budget(
        &mut self,
        containers: &Containers,
        written: &[Written],
    ) -> Option<DiskReport> {
        let keeper = self.keeper.as_mut()?;
        keeper.wrote(written);
        if !keeper.due() {
            let kept_bytes = keeper.estimate.unwrap_or(0);
            return Some(DiskReport {
                kept_bytes,
                ..DiskReport::default()
            });
        }
        let present = match containers.all_names().await {
            Ok(names) => Some(names),
            Err(e) => {
                debug!(target: TARGET, "cannot list every container, none counts as removed: {e}");
                None
            }
        };
        let mut keeper = self.keeper.take()?;
        let report = self.budget_pass(&mut keeper, present);
        self.keeper = Some(keeper);
        Some(report)
    }

    /// Scans LOGS_DIR, deletes what the budget chooses, and says what it did.
    pub(super) fn budget_pass(
        &mut self,
        keeper: &mut Keeper,
        present: Option<HashSet<ContainerName>>,
    ) -> DiskReport {
        // A container followed now is the engine's, whatever a list taken a moment later says.
        let present = present.map(|mut names| {
            names.extend(self.followed_names());
            names
        });
        let now = chrono::Utc::now().timestamp();
        let mut inv = Inventory::scan(&self.files.dir);
        let removed = keeper.removed.update(&inv, present.as_ref(), now);
        let plan = choose(&inv, &removed, now, &keeper.budget);
        let done = self.carry_out(keeper, &plan);
        keeper.removed.save();
        if done.files > 0 || !done.gone.is_empty() {
            inv = Inventory::scan(&self.files.dir);
        }
        let kept_bytes = inv.total();
        keeper.estimate = Some(kept_bytes);
        keeper.scanned = kept_bytes;
        keeper.last_pass = Some(std::time::Instant::now());
        say(keeper, &done, kept_bytes);
        DiskReport {
            kept_bytes,
            deleted: done.freed.iter().map(|(r, b)| (r.label(), *b)).collect(),
            gone: done.gone,
            by_container: Some(inv.by_container()),
        }
    }

    fn followed_names(&self) -> impl Iterator<Item = ContainerName> + '_ {
        self.containers
            .iter()
            .filter(|(_, log)| log.followed.is_some())
            .map(|(name, _)| name.clone())
    }

    /// Deletes the plan's steps in order.
    fn carry_out(&mut self, keeper: &mut Keeper, plan: &Plan) -> Done {
        let mut done = Done::default();
        let dir = self.files.dir.clone();
        for (step, _, reason) in &plan.steps {
            let freed = match step {
                Step::Rotated { name, age } => budget::delete_rotated(&dir, name, *age),
                Step::Whole { name } => {
                    if !self.drop_cursor(name) {
                        done.failed += 1;
                        continue;
                    }
                    let freed = budget::delete_whole(&dir, name);
                    if freed.is_ok() {
                        keeper.removed.forget(name);
                        done.gone.push(name.clone());
                    }
                    freed
                }
            };
            match freed {
                Ok(bytes) => {
                    *done.freed.entry(*reason).or_default() += bytes;
                    done.files += usize::from(matches!(step, Step::Rotated { .. }));
                }
                Err(e) => {
                    done.failed += 1;
                    debug!(target: TARGET, "cannot delete {step:?}: {e}");
                }
            }
        }
        done
    }

    /// Takes a removed container's cursor out of the state file before any of its files go, so
    /// a crash never leaves a cursor that points at deleted lines. False (nothing changed) for a
    /// container that is followed, or when the state file cannot be written.
    fn drop_cursor(&mut self, name: &ContainerName) -> bool {
        let Some(log) = self.containers.remove(name) else {
            return true;
        };
        if log.followed.is_some() {
            self.containers.insert(name.clone(), log);
            return false;
        }
        self.state.changed();
        self.persist();
        if self.state.is_saved() {
            return true;
        }
        // The file still holds it: put it back, and try again at the next pass.
        self.containers.insert(name.clone(), log);
        false
    }
}

/// One line for a pass that deleted anything, and one when the budget cannot be met or is met again.
fn say(keeper: &Keeper, done: &Done, kept: u64) {
    let max = keeper.budget.max_total;
    if done.files > 0 || !done.gone.is_empty() || done.failed > 0 {
        let by_budget = done.freed.get(&Reason::Budget).copied().unwrap_or(0);
        let by_age = done.freed.get(&Reason::Removed).copied().unwrap_or(0);
        let mut names: Vec<&str> = done.gone.iter().take(NAMED).map(|n| n.as_str()).collect();
        if done.gone.len() > NAMED {
            names.push("...");
        }
        info!(
            target: TARGET,
            "Logs kept: deleted {} rotated file(s) and {} removed container(s) whole [{}] ({by_budget} \
             bytes over LOGS_MAX_TOTAL_BYTES, {by_age} bytes past LOGS_KEEP_REMOVED){}; {kept} bytes \
             kept{}",
            done.files,
            done.gone.len(),
            names.join(", "),
            if done.failed > 0 { format!(", {} could not be deleted", done.failed) } else { String::new() },
            if max > 0 { format!(" of {max}") } else { String::new() },
        );
    }
    if max == 0 {
        return;
    }
    if kept > max {
        if keeper.unmet.first() {
            warn!(
                target: TARGET,
                "LOGS_MAX_TOTAL_BYTES ({max}) cannot be met: {kept} bytes kept, and what is left may \
                 not be deleted (current files of containers the engine has, state files)"
            );
        }
    } else if keeper.unmet.reset() {
        info!(target: TARGET, "LOGS_MAX_TOTAL_BYTES ({max}) is met again: {kept} bytes kept");
    }
}
