#!/usr/bin/env bash
# Checks the monitoring kit (monitoring/) with Prometheus's own tools:
#   1. promtool check config  monitoring/prometheus.yml   (and the rule files it names)
#   2. promtool check rules   monitoring/rules.yml
#   3. promtool test rules    monitoring/rules_test.yml
#   4. every PromQL expression of monitoring/grafana-dashboard.json (panel targets, and the
#      selectors of the label_values() template variables), with the Grafana variables replaced
#      by concrete values, goes into a temporary file of recording rules that promtool check rules
#      parses with Prometheus's real parser;
#   5. every metric name in rules.yml, rules_test.yml and the dashboard (words matching
#      (container|collector)_[a-z_]+) is listed in monitoring/families.txt. `up` is always
#      allowed: Prometheus makes it for every target, the collector does not export it.
#
# Usage: scripts/check-monitoring.sh [DIR]   (DIR defaults to the repository's monitoring/; pass a
#        copy of it to try a change without touching the real files). Runs from any directory.
# Needs: promtool (Debian's `prometheus` package) and, to read the dashboard JSON, python3
#        (preferred) or jq. CI installs only `prometheus` and `curl`: on a minimal image add
#        `python3` (or `jq`) to that apt-get line before running this script.
# CHECK_MONITORING_JSON_TOOL=python3|jq forces one of the two.
set -euo pipefail

dir_arg=${1:-}
if [ -n "$dir_arg" ]; then
  [ -d "$dir_arg" ] || { echo "check-monitoring: $dir_arg is not a directory" >&2; exit 2; }
  dir_arg=$(cd "$dir_arg" && pwd)
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=${dir_arg:-monitoring}

config=$dir/prometheus.yml
rules=$dir/rules.yml
rules_test=$dir/rules_test.yml
dashboard=$dir/grafana-dashboard.json
families=$dir/families.txt

ok() { printf 'ok    %-10s %s\n' "$1" "$2"; }
fail() { printf 'FAIL  %-10s %s\n' "$1" "$2" >&2; exit 1; }

if ! command -v promtool >/dev/null 2>&1; then
  echo "check-monitoring: promtool not found; it comes from Debian's prometheus package:" \
    "apt-get install -y --no-install-recommends prometheus" >&2
  exit 1
fi

for f in "$config" "$rules" "$rules_test" "$dir/reference-rules.yml" "$dashboard" "$families"; do
  [ -f "$f" ] || fail files "$f is missing"
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Runs promtool quietly; on failure shows its output and stops.
promtool_step() {
  local step=$1 summary=$2
  shift 2
  if ! promtool "$@" >"$tmp/out" 2>&1; then
    cat "$tmp/out" >&2
    fail "$step" "promtool $*"
  fi
  ok "$step" "$summary"
}

echo "check-monitoring: $(promtool --version 2>&1 | head -n 1), files in $dir"

# ---- 1-3: the config, the rules and their unit tests ------------------------------------------
promtool_step config "$config (with the rule files it names)" check config "$config"
promtool check rules "$rules" >"$tmp/out" 2>&1 || { cat "$tmp/out" >&2; fail rules "promtool check rules $rules"; }
ok rules "$rules ($(grep -oE '[0-9]+ rules? found' "$tmp/out" | head -n 1 || echo 'no count'))"
promtool_step tests "$rules_test" test rules "$rules_test"
promtool_step reference "$dir/reference-rules.yml (the Python tool's rules)" check rules "$dir/reference-rules.yml"

# ---- 4: the dashboard's expressions, parsed by promtool -----------------------------------------
# Grafana variables and the values they get for the check.
vars_json='{"machine": "m", "container": "c", "__rate_interval": "1m", "__interval": "1m",
            "__range": "1h", "__range_s": "3600", "__interval_ms": "60000"}'

json_tool=${CHECK_MONITORING_JSON_TOOL:-}
if [ -z "$json_tool" ]; then
  if command -v python3 >/dev/null 2>&1; then
    json_tool=python3
  elif command -v jq >/dev/null 2>&1; then
    json_tool=jq
  else
    fail dashboard "reading the dashboard JSON needs python3 or jq: apt-get install -y python3"
  fi
fi

dash_rules=$tmp/dashboard-rules.yml # JSON, which YAML (and so promtool) reads as well
dash_index=$tmp/dashboard-index.txt # record name <TAB> where the expression comes from <TAB> expr
case $json_tool in
  python3)
    python3 - "$dashboard" "$vars_json" "$dash_rules" "$dash_index" <<'PY'
import json, re, sys

dashboard_path, vars_json, rules_path, index_path = sys.argv[1:5]
values = json.loads(vars_json)
with open(dashboard_path, encoding="utf-8") as f:
    dashboard = json.load(f)

found = []  # (where, expression)

def walk(node, where):
    if isinstance(node, dict):
        if "title" in node and "type" in node:
            where = f'panel "{node["title"]}" (id {node.get("id")})'
        expr = node.get("expr")
        if isinstance(expr, str):
            found.append((f'{where} refId {node.get("refId", "?")}', expr))
        for value in node.values():
            walk(value, where)
    elif isinstance(node, list):
        for value in node:
            walk(value, where)

walk(dashboard.get("panels", []), "dashboard")

# Template variables: the series selector inside label_values(<selector>, <label>).
for var in dashboard.get("templating", {}).get("list", []):
    if var.get("type") != "query":
        continue
    query = var.get("query")
    if isinstance(query, dict):
        query = query.get("query", "")
    m = re.fullmatch(r"\s*label_values\((.*),\s*\w+\s*\)\s*", query or "", re.S)
    if m:
        found.append((f'template variable "{var.get("name")}"', m.group(1)))

variable = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")

def substitute(where, expr):
    def one(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name not in values:
            sys.exit(f"FAIL  dashboard  {where}: unknown Grafana variable ${name} in: {expr}")
        return values[name]
    return variable.sub(one, expr)

rules, index = [], []
for n, (where, expr) in enumerate(found, 1):
    record = f"dashboard:expr_{n}"
    rules.append({"record": record, "expr": substitute(where, expr)})
    index.append(f"{record}\t{where}\t{expr}")
if not rules:
    sys.exit("FAIL  dashboard  no expression found in the dashboard")
with open(rules_path, "w", encoding="utf-8") as f:
    json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, f, indent=1,
              ensure_ascii=False)
with open(index_path, "w", encoding="utf-8") as f:
    f.write("\n".join(index) + "\n")
PY
    ;;
  jq)
    jq --argjson v "$vars_json" '
      def subst: gsub("\\$\\{?(?<n>[A-Za-z_][A-Za-z0-9_]*)\\}?"; ($v[.n] // ("UNKNOWN_VARIABLE_" + .n)));
      [ ( [.panels // [] | .. | objects | select((.expr? | type) == "string") | .expr]
          + [.templating.list[]? | select(.type == "query")
             | (if (.query | type) == "object" then .query.query else .query end) // ""
             | capture("^\\s*label_values\\((?<s>.*),\\s*\\w+\\s*\\)\\s*$")? | .s] )
        | to_entries[] | {record: "dashboard:expr_\(.key + 1)", expr: (.value | subst), raw: .value} ]
      | ( {groups: [{name: "dashboard", rules: [.[] | {record, expr}]}]} ),
        ( [.[] | "\(.record)\t-\t\(.raw)"] | join("\n") )' "$dashboard" >"$tmp/jq-out"
    # First JSON value: the rules file; second: the index text.
    jq -s '.[0]' "$tmp/jq-out" >"$dash_rules"
    jq -rs '.[1]' "$tmp/jq-out" >"$dash_index"
    if grep -q 'UNKNOWN_VARIABLE_' "$dash_rules"; then
      name=$(grep -oE 'UNKNOWN_VARIABLE_[A-Za-z0-9_]+' "$dash_rules" | head -n 1)
      fail dashboard "unknown Grafana variable \$${name#UNKNOWN_VARIABLE_} in $dashboard"
    fi
    [ -s "$dash_index" ] || fail dashboard "no expression found in $dashboard"
    ;;
  *)
    fail dashboard "CHECK_MONITORING_JSON_TOOL must be python3 or jq, not $json_tool"
    ;;
esac

n_exprs=$(grep -c . "$dash_index")
if ! promtool check rules "$dash_rules" >"$tmp/out" 2>&1; then
  cat "$tmp/out" >&2
  echo "where the failing expressions come from (record, place, expression as in the dashboard):" >&2
  failing=$(grep -oE 'dashboard:expr_[0-9]+' "$tmp/out" | sort -u || true)
  if [ -n "$failing" ]; then
    for record in $failing; do grep -E "^$record"$'\t' "$dash_index" >&2 || true; done
  else
    cat "$dash_index" >&2
  fi
  fail dashboard "an expression of $dashboard does not parse (see above)"
fi
ok dashboard "$n_exprs expressions of $dashboard parse (read with $json_tool)"

# ---- 5: metric names are the collector's families -----------------------------------------------
bad_families=$(grep -vnE '^[a-z_:][a-z0-9_:]*$' "$families" || true)
[ -z "$bad_families" ] || fail families "$families: not a metric name on line ${bad_families%%:*}"
dup=$(sort "$families" | uniq -d | head -n 1)
[ -z "$dup" ] || fail families "$families lists $dup twice"

unknown=0
for f in "$rules" "$rules_test" "$dashboard"; do
  while IFS= read -r name; do
    if ! grep -qxF -- "$name" "$families"; then
      printf 'FAIL  %-10s unknown metric name %s in %s (not in %s)\n' families "$name" "$f" "$families" >&2
      unknown=1
    fi
  done < <(grep -oE '\b(container|collector)_[a-z_]+' "$f" | sort -u)
done
[ "$unknown" -eq 0 ] || exit 1
n_names=$(cat "$rules" "$rules_test" "$dashboard" | grep -oE '\b(container|collector)_[a-z_]+' | sort -u | wc -l)
ok families "the $n_names metric names used by the rules, their tests and the dashboard are in $families"

echo "check-monitoring: all checks passed"
