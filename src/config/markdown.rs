//! The settings as a Markdown page: `docs/settings.md` is the output of [`settings_markdown`], so the
//! page a newcomer reads is made from the same table as `--help` and cannot drift from it. A test
//! (`tests/it/docs.rs`) fails when the file differs, and writes it again when `UPDATE_DOCS=1` is set.

use super::SETTINGS;

/// The Python tool's variables, which keep its names and defaults, are the first entries of
/// [`SETTINGS`] (the order of the start-up lines, pinned by the config tests); the others are new.
const FROM_THE_PYTHON_TOOL: usize = 12;

const HEAD: &str = "\
# Settings

<!-- Made from SETTINGS (src/config/settings.rs) by container_metrics::settings_markdown(): do not edit.
     `UPDATE_DOCS=1 cargo test --test it docs::` writes it again. -->

Every setting is an environment variable and a flag; a flag beats the variable. The Python tool's
variables keep its names and defaults (`from`: Python tool); the others are new. `container-metrics
--help` lists the same settings, and the collector prints each value at start (`NAME: value`), in this
order.

A value that does not parse stops the program at start with one line naming the variable and the value,
and exit code 2. Intervals and timeouts are whole seconds, at least 1; LOGS_COLLECTION_INTERVAL may not
be greater than METRICS_COLLECTION_INTERVAL.

| variable | flag | default | from | what it does |
|---|---|---|---|---|
";

const TAIL: &str = "
Container patterns are matched against the whole name: `INCLUDE_CONTAINERS=web-*,api` watches `web-1`
and `api`, not `api-2`.

More on some of them: [engine-free.md](engine-free.md) (CGROUP_ROOT, PROC_ROOT, CONTAINER_LOGS_ROOT),
[logs.md](logs.md) (LOGS_DIR, the rotation, LOG_LEVELS_MAPPING_PATH), [api.md](api.md) (WEB_PORT and
the logs browser), [security.md](security.md) (RUN_AS, WEB_CONFIG_FILE, MAX_CONNECTIONS),
[metrics.md](metrics.md) (METRIC_GROUPS, CONTAINER_RETENTION), [architecture.md](architecture.md)
(MAX_CONCURRENT_REQUESTS, ENGINE_TIMEOUT).
";

/// The text of `docs/settings.md`: a short introduction, then one row per entry of [`SETTINGS`], in
/// the table's order (variable, flag, default, whether the Python tool had it, the `--help` line).
pub fn settings_markdown() -> String {
    let mut page = String::from(HEAD);
    for (i, setting) in SETTINGS.iter().enumerate() {
        let default = match setting.default {
            None => "unset".to_string(),
            Some("") => "empty".to_string(),
            Some(value) => format!("`{value}`"),
        };
        let from = if i < FROM_THE_PYTHON_TOOL {
            "Python tool"
        } else {
            "new"
        };
        page.push_str(&format!(
            "| {} | `--{}` | {} | {} | {} |\n",
            setting.env,
            setting.flag,
            cell(&default),
            from,
            cell(setting.help)
        ));
    }
    page.push_str(TAIL);
    page
}

/// Text that stays inside its table cell: a `|` would end the cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_setting(name: &str) -> bool {
        SETTINGS.iter().any(|s| s.env == name)
    }

    #[test]
    fn the_python_tools_variables_end_with_default_logs_since_now() {
        assert_eq!(
            SETTINGS[FROM_THE_PYTHON_TOOL - 1].env,
            "DEFAULT_LOGS_SINCE_NOW"
        );
        assert_eq!(
            SETTINGS[FROM_THE_PYTHON_TOOL].env,
            "MAX_CONCURRENT_REQUESTS"
        );
    }

    #[test]
    fn every_setting_named_in_the_prose_exists() {
        for word in HEAD
            .split(|c: char| !(c.is_ascii_uppercase() || c == '_'))
            .chain(TAIL.split(|c: char| !(c.is_ascii_uppercase() || c == '_')))
            .filter(|w| w.contains('_') && w.len() > 3 && *w != "UPDATE_DOCS")
        {
            assert!(
                is_setting(word),
                "the page names {word}, which is no setting"
            );
        }
    }

    #[test]
    fn every_setting_has_one_row_and_cells_stay_in_their_column() {
        let page = settings_markdown();
        for setting in SETTINGS {
            let rows: Vec<&str> = page
                .lines()
                .filter(|l| l.starts_with(&format!("| {} |", setting.env)))
                .collect();
            assert_eq!(rows.len(), 1, "{}: {rows:?}", setting.env);
            let cells = rows[0].replace("\\|", "").matches('|').count();
            assert_eq!(cells, 6, "{}", rows[0]);
        }
        assert_eq!(cell("a|b"), "a\\|b");
    }
}
