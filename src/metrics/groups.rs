//! METRIC_GROUPS: which families beyond the reference ones are exported.
//!
//! A group is one value that carries its name and its families: every family of the catalogue
//! names the group it belongs to (the reference families belong to none and are always exported),
//! so the list of groups, the names the setting accepts and the families a group turns on cannot
//! drift apart.

/// A group of families beyond the reference ones, turned on or off as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// `container_cpu_usage_seconds_total`, `container_cpu_cfs_*`.
    Cpu,
    /// `container_memory_usage_bytes`, `container_memory_working_set_bytes`.
    Memory,
    /// `container_network_*`.
    Network,
    /// `container_fs_reads_bytes_total`, `container_fs_writes_bytes_total`.
    Io,
    /// `container_pids`, `container_restarts`, `container_oom_killed`,
    /// `container_health_status`, `container_exit_code`.
    State,
    /// `container_info`.
    Info,
}

impl Group {
    /// Every group, in the order METRIC_GROUPS lists them.
    pub const ALL: [Group; 6] = [
        Group::Cpu,
        Group::Memory,
        Group::Network,
        Group::Io,
        Group::State,
        Group::Info,
    ];

    /// Its name in METRIC_GROUPS.
    pub fn name(self) -> &'static str {
        match self {
            Group::Cpu => "cpu",
            Group::Memory => "memory",
            Group::Network => "network",
            Group::Io => "io",
            Group::State => "state",
            Group::Info => "info",
        }
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// Which groups are exported (METRIC_GROUPS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricGroups {
    /// One bit per group, at [`Group::bit`].
    on: u8,
}

impl Default for MetricGroups {
    fn default() -> Self {
        MetricGroups::ALL
    }
}

impl FromIterator<Group> for MetricGroups {
    fn from_iter<I: IntoIterator<Item = Group>>(groups: I) -> Self {
        let on = groups.into_iter().fold(0, |on, g| on | g.bit());
        MetricGroups { on }
    }
}

impl MetricGroups {
    /// Every group.
    pub const ALL: MetricGroups = MetricGroups {
        on: (1 << Group::ALL.len()) - 1,
    };

    /// No group: the reference families only.
    pub const NONE: MetricGroups = MetricGroups { on: 0 };

    /// `all`, `none`, or a comma-separated list of group names; `None` for an unknown name.
    pub fn parse(text: &str) -> Option<MetricGroups> {
        let text = text.trim();
        match text {
            "all" | "" => return Some(MetricGroups::ALL),
            "none" => return Some(MetricGroups::NONE),
            _ => {}
        }
        let names: Vec<&str> = text
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        if names
            .iter()
            .any(|n| !Group::ALL.iter().any(|g| g.name() == *n))
        {
            return None;
        }
        Some(
            Group::ALL
                .into_iter()
                .filter(|g| names.contains(&g.name()))
                .collect(),
        )
    }

    /// Whether `group`'s families are exported.
    pub fn contains(&self, group: Group) -> bool {
        self.on & group.bit() != 0
    }

    /// The groups exported, in [`Group::ALL`]'s order.
    pub fn iter(&self) -> impl Iterator<Item = Group> + '_ {
        Group::ALL.into_iter().filter(|g| self.contains(*g))
    }

    /// Whether a family of `group` (`None`: a reference family) is exported.
    pub(super) fn exports(&self, group: Option<Group>) -> bool {
        group.is_none_or(|g| self.contains(g))
    }
}

impl std::fmt::Display for MetricGroups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let on: Vec<&str> = self.iter().map(Group::name).collect();
        match on.len() {
            0 => f.write_str("none"),
            n if n == Group::ALL.len() => f.write_str("all"),
            _ => f.write_str(&on.join(",")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        for (text, want) in [
            ("", Some("all")),
            (" all ", Some("all")),
            ("none", Some("none")),
            ("cpu", Some("cpu")),
            (" io , memory ", Some("memory,io")),
            ("cpu,memory,network,io,state,info", Some("all")),
            ("cpu,,cpu", Some("cpu")),
            (",", Some("none")),
            ("cpu,disk", None),
            ("CPU", None),
            ("all,cpu", None),
        ] {
            let got = MetricGroups::parse(text).map(|g| g.to_string());
            assert_eq!(got.as_deref(), want, "{text:?}");
        }
    }

    #[test]
    fn every_group_has_families_and_its_name_parses_back() {
        for g in Group::ALL {
            assert!(g.families().next().is_some(), "{g:?}");
            let one = MetricGroups::parse(g.name()).expect("a group's name parses");
            assert_eq!(one.iter().collect::<Vec<_>>(), [g]);
        }
        assert_eq!(Group::State.families().count(), 5);
        assert_eq!(Group::Network.families().count(), 8);
    }
}
