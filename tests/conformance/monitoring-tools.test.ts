/**
 * The monitoring configuration exactly as the stacks render it, checked by the real tools:
 * promtool of the Prometheus version the cluster runs (built from its Go module by
 * scripts/install-monitoring-tools.sh; Debian's 2.42 lacks Kubernetes service discovery): check
 * config, check rules, and `test rules` with a firing and a healthy case for every alert; Debian's
 * amtool (check-config and `config routes test`), Prometheus' own PromQL
 * parser (tools/promql-check, the module version of the cluster's Prometheus) for every rule and
 * dashboard expression, and for every dashboard log query Grafana's own LogQL grammar
 * (@grafana/lezer-logql, Apache-2.0, the parser of Grafana's LogQL editor; Loki's Go parser is AGPL
 * and is not used) plus this project's LogQL check (tests/conformance/logql.ts) for what a grammar
 * cannot see (an empty selector, an invalid regular expression).
 */
import { execFileSync, spawnSync } from "child_process";
import { parser as logqlGrammar } from "@grafana/lezer-logql";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import { allDashboards, DATASOURCES } from "../../components/monitoring/dashboards";
import { only, planStack, RecordedResource } from "../helpers/program";
import { ALERT_CASES } from "./alert-cases";
import { logqlProblem } from "./logql";
import { monitoringTool, parsePromQL } from "./promql";
import { requireBinary } from "./servers";

/** Where Grafana's LogQL grammar finds syntax errors in a query (offsets; none when it parses). */
function logqlGrammarErrors(query: string): number[] {
  const errors: number[] = [];
  logqlGrammar.parse(query).iterate({
    enter: (n) => {
      if (n.type.isError) errors.push(n.from);
    },
  });
  return errors;
}

const promtool = monitoringTool("promtool");
const amtool = requireBinary("/usr/bin/amtool", "prometheus-alertmanager");

/** Runs a tool; returns its exit code and combined output. */
function run(cmd: string, args: string[], input?: string): { code: number; out: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", input, timeout: 120_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

let tmp: string;
let prometheusFiles: Record<string, string>;
let alertmanagerYml: string;

/** The data of the one ConfigMap or Secret whose Pulumi name is `name`. */
const dataOf = (rs: RecordedResource[], type: string, name: string, key = "data") =>
  only(rs, `kubernetes:core/v1:${type}`, name).inputs[key] as Record<string, string>;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "monitoring-tools-"));
  const dev = (await planStack("dev")).resources;
  prometheusFiles = dataOf(dev, "ConfigMap", "monitoring-prometheus-config");
  const prod = (await planStack("prod")).resources;
  alertmanagerYml = dataOf(prod, "Secret", "monitoring-alertmanager-config", "stringData")[
    "alertmanager.yml"
  ]!;
}, 120_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/**
 * The Prometheus files in `tmp`, with the in-container paths (/etc/prometheus, the
 * ServiceAccount's token and CA) pointed at files here: promtool checks that they exist.
 */
function writePrometheusFiles(): string {
  const sa = path.join(tmp, "serviceaccount");
  fs.mkdirSync(sa, { recursive: true });
  fs.writeFileSync(path.join(sa, "token"), "token-for-promtool\n");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=test-ca",
      "-keyout",
      path.join(sa, "ca.key"),
      "-out",
      path.join(sa, "ca.crt"),
    ],
    { stdio: "ignore" },
  );
  const config = prometheusFiles["prometheus.yml"]!.replaceAll(
    "/etc/prometheus/",
    `${tmp}/`,
  ).replaceAll("/var/run/secrets/kubernetes.io/serviceaccount/", `${sa}/`);
  expect(config).not.toBe(prometheusFiles["prometheus.yml"]);
  fs.writeFileSync(path.join(tmp, "prometheus.yml"), config);
  fs.writeFileSync(path.join(tmp, "rules.yml"), prometheusFiles["rules.yml"]!);
  return path.join(tmp, "prometheus.yml");
}

test("promtool check config accepts the dev stack's prometheus.yml and its rule file", () => {
  const r = run(promtool, ["check", "config", writePrometheusFiles()]);
  expect(r.out).toMatch(/SUCCESS: 1 rule files found/);
  expect(r.code).toBe(0);
});

test("promtool check rules accepts every rule group", () => {
  fs.writeFileSync(path.join(tmp, "rules.yml"), prometheusFiles["rules.yml"]!);
  const r = run(promtool, ["check", "rules", path.join(tmp, "rules.yml")]);
  const alerts = ruleExprs().length;
  expect(r.out).toMatch(new RegExp(`SUCCESS: ${alerts} rules found`));
  expect(r.code).toBe(0);
});

/** The expression of every rule in the dev stack's rule file. */
const ruleExprs = () =>
  (parse(prometheusFiles["rules.yml"]!) as { groups: { rules: { expr: string }[] }[] }).groups
    .flatMap((g) => g.rules)
    .map((r) => r.expr);

/** {{ $labels.x }} rendered as Prometheus renders it: the label's value. */
const render = (text: string, labels: Record<string, string>) =>
  text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, k: string) => labels[k] ?? "");

test("promtool test rules: every alert fires on its bad series with its labels and annotations, and stays silent on healthy ones", () => {
  const rules = parse(prometheusFiles["rules.yml"]!) as {
    groups: {
      rules: {
        alert?: string;
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
      }[];
    }[];
  };
  const alerts = rules.groups.flatMap((g) => g.rules).filter((r) => r.alert);
  expect(alerts.map((a) => a.alert).sort()).toEqual(Object.keys(ALERT_CASES).sort());
  const seriesList = (s: Record<string, string>) =>
    Object.entries(s).map(([series, values]) => ({ series, values }));
  const tests = alerts.flatMap((a) => {
    const c = ALERT_CASES[a.alert!]!;
    const labels = { ...c.fire.labels, ...a.labels };
    const annotations = Object.fromEntries(
      Object.entries(a.annotations ?? {}).map(([k, v]) => [k, render(v, labels)]),
    );
    return [
      {
        name: `${a.alert} fires`,
        interval: c.interval ?? "1m",
        input_series: seriesList(c.fire.series),
        alert_rule_test: [
          {
            eval_time: c.fire.at,
            alertname: a.alert,
            exp_alerts: [{ exp_labels: labels, exp_annotations: annotations }],
          },
        ],
      },
      ...(c.healthy
        ? [
            {
              name: `${a.alert} stays silent`,
              interval: c.interval ?? "1m",
              input_series: seriesList(c.healthy.series),
              alert_rule_test: [{ eval_time: c.healthy.at, alertname: a.alert, exp_alerts: [] }],
            },
          ]
        : []),
    ];
  });
  // Watchdog alone has no healthy case: it fires always, by design.
  expect(tests.length).toBe(2 * alerts.length - 1);
  fs.writeFileSync(path.join(tmp, "rules.yml"), prometheusFiles["rules.yml"]!);
  // One file per interval: promtool evaluates every rule at each step up to the latest eval_time,
  // so the days-long staleness case is evaluated hourly rather than every minute.
  const intervals = [...new Set(tests.map((t) => t.interval))];
  const files = intervals.map((interval) => {
    const file = path.join(tmp, `rules-test-${interval}.yml`);
    fs.writeFileSync(
      file,
      stringify(
        {
          rule_files: ["rules.yml"],
          evaluation_interval: interval,
          tests: tests.filter((t) => t.interval === interval),
        },
        { lineWidth: 0 },
      ),
    );
    return file;
  });
  const r = run(promtool, ["test", "rules", ...files]);
  expect(r.out.match(/SUCCESS/g)).toHaveLength(files.length);
  expect(r.code).toBe(0);
}, 120_000);

test("promtool test rules can fail: an alert expected on healthy series is reported", () => {
  const file = path.join(tmp, "rules-test-wrong.yml");
  const c = ALERT_CASES.RedisEvictions!;
  fs.writeFileSync(
    file,
    stringify({
      rule_files: ["rules.yml"],
      tests: [
        {
          interval: "1m",
          input_series: Object.entries(c.healthy!.series).map(([series, values]) => ({
            series,
            values,
          })),
          alert_rule_test: [
            {
              eval_time: c.healthy!.at,
              alertname: "RedisEvictions",
              exp_alerts: [{ exp_labels: { ...c.fire.labels, severity: "warning" } }],
            },
          ],
        },
      ],
    }),
  );
  const r = run(promtool, ["test", "rules", file]);
  expect(r.code).toBe(1);
  expect(r.out).toMatch(/alertname: RedisEvictions/);
});

describe("Alertmanager (prod's configuration, with placeholder secrets)", () => {
  let file: string;
  beforeAll(() => {
    file = path.join(tmp, "alertmanager.yml");
    fs.writeFileSync(file, alertmanagerYml);
  });

  test("amtool check-config accepts it: three receivers, routes and inhibitions", () => {
    const r = run(amtool, ["check-config", file]);
    expect(r.out).toMatch(/SUCCESS/);
    expect(r.out).toMatch(/- 3 receivers/);
    expect(r.out).toMatch(/- 2 inhibit rules/);
    expect(r.code).toBe(0);
  });

  /** The receivers amtool routes the labels to (its stdout; warnings go to stderr). */
  const routes = (...labels: string[]) =>
    spawnSync(amtool, ["config", "routes", "test", `--config.file=${file}`, ...labels], {
      encoding: "utf8",
    }).stdout.trim();

  test("critical alerts reach the on-call receiver and the team mailbox; warnings only the mailbox", () => {
    expect(routes("alertname=PostgresDown", "severity=critical")).toBe("oncall,team-mail");
    expect(routes("alertname=KubeJobFailed", "severity=warning")).toBe("team-mail");
  });

  test("Watchdog reaches no receiver (the null route)", () => {
    expect(routes("alertname=Watchdog", "severity=none")).toBe("null");
  });
});

describe("dashboards", () => {
  const dashboards = allDashboards({
    apps: "auditflow",
    data: "auditflow-data",
    deadLetterQueue: "audit.dead-letter",
  });
  const targets = Object.entries(dashboards).flatMap(([file, d]) =>
    ((d.panels ?? []) as any[])
      .filter((p) => p.type !== "row")
      .flatMap((p) =>
        (p.targets as any[]).map((t) => ({ where: `${file}: ${p.title}`, panel: p, target: t })),
      ),
  );
  const prom = targets.filter((t) => t.target.datasource.type === "prometheus");
  const loki = targets.filter((t) => t.target.datasource.type === "loki");

  test("every PromQL expression parses with Prometheus' parser", () => {
    expect(prom.length).toBeGreaterThan(30);
    const parsed = parsePromQL(prom.map((t) => t.target.expr));
    expect(parsed.filter((p) => p.error).map((p) => `${p.expr}: ${p.error}`)).toEqual([]);
  });

  test("the PromQL parser rejects a malformed expression (the check can fail)", () => {
    const [bad] = parsePromQL(['sum(rate(http_requests_total{code=~"5.."}[5m])']);
    expect(bad!.error).toMatch(/unclosed left parenthesis/);
  });

  test("every rule expression parses with the parser of the Prometheus version the cluster runs", () => {
    const exprs = ruleExprs();
    expect(exprs.length).toBeGreaterThan(40);
    expect(parsePromQL(exprs).filter((p) => p.error)).toEqual([]);
  });

  test("every LogQL query is well formed", () => {
    expect(loki.length).toBeGreaterThanOrEqual(3);
    expect(loki.map((t) => [t.where, logqlProblem(t.target.expr)])).toEqual(
      loki.map((t) => [t.where, undefined]),
    );
  });

  test("every LogQL query parses with Grafana's own LogQL grammar (@grafana/lezer-logql)", () => {
    expect(loki.map((t) => [t.where, logqlGrammarErrors(t.target.expr)])).toEqual(
      loki.map((t) => [t.where, []]),
    );
  });

  test("Grafana's LogQL grammar finds the error in malformed queries (the check can fail)", () => {
    expect(logqlGrammarErrors('{namespace="auditflow" |= "error"')).not.toEqual([]);
    expect(logqlGrammarErrors('sum(count_over_time({a="b"}[5m])')).not.toEqual([]);
    expect(logqlGrammarErrors('{a="b"} | json | line_format')).not.toEqual([]);
    expect(logqlGrammarErrors('sum by (pod) (count_over_time({a="b"} |= "x" [5m]))')).toEqual([]);
  });

  test("the LogQL check rejects malformed queries", () => {
    expect(logqlProblem("{}")).toMatch(/at least one matcher/);
    expect(logqlProblem('count_over_time({a="b"})')).toMatch(/expected "\["/);
    expect(logqlProblem('{a=~"("}')).toMatch(/invalid regular expression/);
    expect(logqlProblem('sum(count_over_time({a="b"}[5m])')).toMatch(/unexpected end/);
  });

  test("every panel's datasource is one Grafana provisions", () => {
    const provisioned = Object.values(DATASOURCES).map((d) => `${d.type}/${d.uid}`);
    for (const t of targets) {
      expect([
        t.where,
        provisioned.includes(`${t.panel.datasource.type}/${t.panel.datasource.uid}`),
      ]).toEqual([t.where, true]);
    }
  });
});
