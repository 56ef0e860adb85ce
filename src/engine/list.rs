//! Which containers to visit each tick: the watched ones running now, and those that were running at
//! the previous tick but are not any more, visited once more so their last lines are not lost.

use std::collections::{HashMap, HashSet};

use bollard::models::ContainerSummary;

use super::filter::Filter;
use crate::container::{ContainerId, ContainerName, ContainerRef};

/// What the list of one tick is compared with: the containers running at the previous one.
#[derive(Debug, Default)]
pub(super) struct Visits {
    /// Which containers are watched.
    pub(super) filter: Filter,
    /// Running at the previous tick.
    running_before: HashMap<ContainerId, ContainerRef>,
}

impl Visits {
    /// The containers to visit, given the engine's list of running containers; they become the
    /// ones running before for the next tick.
    pub(super) fn next(&mut self, listed: Vec<ContainerSummary>) -> Vec<ContainerRef> {
        let running = self.watched(listed);
        let mut visit: Vec<ContainerRef> = running.values().cloned().collect();
        let running_names: HashSet<&str> = running.values().map(|c| c.name.as_str()).collect();
        for (id, before) in &self.running_before {
            // A name taken by a new container now (a recreated service) belongs to the new one.
            if !running.contains_key(id) && !running_names.contains(before.name.as_str()) {
                visit.push(ContainerRef {
                    running: false,
                    ..before.clone()
                });
            }
        }
        visit.sort_by(|a, b| a.name.cmp(&b.name));
        self.running_before = running;
        visit
    }

    /// The listed containers the filter lets through, by id.
    fn watched(&self, listed: Vec<ContainerSummary>) -> HashMap<ContainerId, ContainerRef> {
        let mut running = HashMap::with_capacity(listed.len());
        let no_labels = HashMap::new();
        for summary in listed {
            let Some(id) = summary.id.map(ContainerId::from) else {
                continue;
            };
            let name = summary
                .names
                .and_then(|names| names.into_iter().next())
                .map(|n| ContainerName::from(n.trim_start_matches('/')))
                .unwrap_or_else(|| id.short().into());
            let labels = summary.labels.as_ref().unwrap_or(&no_labels);
            if !self.filter.watches(name.as_str(), labels) {
                continue;
            }
            let container = ContainerRef {
                id: id.clone(),
                name,
                running: true,
            };
            running.insert(id, container);
        }
        running
    }

    /// Treats this container as running at the previous tick, unless it is known already.
    pub(super) fn assume_running(&mut self, id: ContainerId, name: ContainerName) {
        self.running_before
            .entry(id.clone())
            .or_insert(ContainerRef {
                id,
                name,
                running: true,
            });
    }

    /// Whether the container was running at the last tick.
    pub(super) fn was_running(&self, id: &ContainerId) -> bool {
        self.running_before.contains_key(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(id: &str, name: &str) -> ContainerSummary {
        ContainerSummary {
            id: Some(id.to_string()),
            names: Some(vec![format!("/{name}")]),
            ..Default::default()
        }
    }

    fn names(visit: &[ContainerRef]) -> Vec<(&str, bool)> {
        visit.iter().map(|c| (c.name.as_str(), c.running)).collect()
    }

    #[test]
    fn a_container_that_stopped_is_visited_once_more() {
        let mut visits = Visits::default();
        visits.next(vec![listed("a1", "api"), listed("b1", "db")]);
        let visit = visits.next(vec![listed("b1", "db")]);
        assert_eq!(names(&visit), [("api", false), ("db", true)]);
        assert_eq!(
            names(&visits.next(vec![listed("b1", "db")])),
            [("db", true)]
        );
    }

    #[test]
    fn a_name_taken_by_a_new_container_belongs_to_the_new_one() {
        let mut visits = Visits::default();
        visits.next(vec![listed("a1", "api")]);
        let visit = visits.next(vec![listed("a2", "api")]);
        assert_eq!(visit.len(), 1);
        assert_eq!(visit[0].id, ContainerId::from("a2"));
    }

    #[test]
    fn a_container_without_a_name_is_named_by_its_short_id() {
        let mut visits = Visits::default();
        let unnamed = ContainerSummary {
            id: Some("0123456789abcdef".into()),
            ..Default::default()
        };
        let without_id = ContainerSummary {
            names: Some(vec!["/ghost".into()]),
            ..Default::default()
        };
        assert_eq!(
            names(&visits.next(vec![unnamed, without_id])),
            [("0123456789ab", true)]
        );
    }

    #[test]
    fn a_container_assumed_running_is_visited_when_it_is_not_listed() {
        let mut visits = Visits::default();
        visits.assume_running("a1".into(), "api".into());
        assert!(visits.was_running(&"a1".into()));
        assert_eq!(names(&visits.next(Vec::new())), [("api", false)]);
        assert!(!visits.was_running(&"a1".into()));
    }

    #[test]
    fn a_container_the_filter_leaves_out_is_not_visited() {
        let mut visits = Visits {
            filter: Filter {
                exclude: vec!["db".into()],
                ..Default::default()
            },
            ..Default::default()
        };
        let visit = visits.next(vec![listed("a1", "api"), listed("b1", "db")]);
        assert_eq!(names(&visit), [("api", true)]);
    }
}
