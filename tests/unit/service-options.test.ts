import fc from "fast-check";
import {
  AnalysisRule,
  ANALYSIS_RULE_LIMITS,
  renderRules,
  RULE_GROUP_BY,
  RULE_SEVERITIES,
} from "../../components/apps/analysis-rules";
import { validateConfig } from "../../infra/validate";
import { peakReplicas } from "../../infra/service-options";
import { rulesSchema } from "../../infra/service-options";
import { PROJECT, problemsOf, rawConfig } from "../helpers/stack-config";

const analysis = 1; // services[1] is audit-log-analysis in every stack file

/** The problems as "key: message" lines, for readable matching. */
const lines = (mutate: (c: any) => void, stack = "dev") =>
  problemsOf(mutate, stack).map((p) => `${p.key.slice(PROJECT.length + 1)}: ${p.message}`);

const rule = (over: Partial<AnalysisRule> = {}): AnalysisRule => ({
  id: "failed-logins",
  description: "Too many failed logins.",
  severity: "high",
  match: { eventTypes: ["auth.login"], outcome: "failure" },
  threshold: { count: 5, windowSeconds: 300, groupBy: ["actor"] },
  ...over,
});

describe("services[].rules", () => {
  test("every stack file gives audit-log-analysis its rules", () => {
    for (const stack of ["dev", "staging", "prod"]) {
      const svc = (rawConfig(stack).services as any[])[analysis];
      expect([stack, svc.name, svc.rules.length > 0]).toEqual([stack, "audit-log-analysis", true]);
    }
  });

  const bad: [string, (r: any) => void, RegExp][] = [
    [
      "an id that is not kebab-case",
      (r) => (r.id = "Failed_Logins"),
      /rules\[0\]\.id: must be a kebab-case name/,
    ],
    [
      "an unknown severity",
      (r) => (r.severity = "severe"),
      /rules\[0\]\.severity: must be one of "info", "low", "medium", "high", "critical" \(got "severe"\)/,
    ],
    [
      "a match without conditions",
      (r) => (r.match = {}),
      /rules\[0\]\.match: needs at least one condition/,
    ],
    [
      "a pattern with a space",
      (r) => (r.match.eventTypes = ["auth login"]),
      /rules\[0\]\.match\.eventTypes\[0\]: must be a glob pattern/,
    ],
    [
      "a zero count",
      (r) => (r.threshold.count = 0),
      /rules\[0\]\.threshold\.count: must be at least 1 \(got 0\)/,
    ],
    [
      "a window over a day",
      (r) => (r.threshold.windowSeconds = 86401),
      /rules\[0\]\.threshold\.windowSeconds: must be at most 86400 \(got 86401\)/,
    ],
    [
      "a repeated groupBy field",
      (r) => (r.threshold.groupBy = ["actor", "actor"]),
      /rules\[0\]\.threshold\.groupBy: must not repeat a field/,
    ],
    ["an unknown key", (r) => (r.action = "block"), /rules\[0\]\.action: is not a known setting/],
  ];
  test.each(bad)("rejects %s, naming the key", (_t, change, message) => {
    const out = lines((c) => change(c.services[analysis].rules[0]));
    expect(out).toEqual([
      expect.stringMatching(new RegExp(`^services\\[1\\]\\.${message.source}`)),
    ]);
  });

  test("rejects a duplicate rule id, naming the second one", () => {
    const out = lines((c) => c.services[analysis].rules.push({ ...c.services[analysis].rules[0] }));
    expect(out).toEqual([
      expect.stringMatching(
        /^services\[1\]\.rules\[4\]\.id: duplicate rule id "repeated-failed-logins"/,
      ),
    ]);
  });

  test("rejects rules on a service that does not read them", () => {
    const out = lines((c) => (c.services[0].rules = [rule()]));
    expect(out).toEqual([
      "services[0].rules: is only allowed for a service that reads analysis rules (audit-log-analysis); audit-event-generator does not",
    ]);
  });

  test("renders the same bytes for the same rules in any order (no spurious ConfigMap update)", () => {
    const arbRule = fc.record({
      id: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}[a-z0-9]$/),
      description: fc.string({ minLength: 1, maxLength: 40 }),
      severity: fc.constantFrom(...RULE_SEVERITIES),
      match: fc.record({
        eventTypes: fc.array(fc.stringMatching(/^[a-z.*]{1,12}$/), { minLength: 1, maxLength: 3 }),
      }),
      threshold: fc.option(
        fc.record({
          count: fc.integer({ min: 1, max: ANALYSIS_RULE_LIMITS.maxCount }),
          windowSeconds: fc.integer({ min: 1, max: ANALYSIS_RULE_LIMITS.maxWindowSeconds }),
          groupBy: fc.subarray([...RULE_GROUP_BY]),
        }),
        { nil: undefined },
      ),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(arbRule, { selector: (r) => r.id, maxLength: 8 }),
        fc.context(),
        (rules, ctx) => {
          // What the schema accepts, the renderer renders; shuffled input renders identically.
          expect(rulesSchema.safeParse(rules).success).toBe(true);
          const shuffled = [...rules].reverse();
          const a = renderRules(rules)["rules.json"]!;
          ctx.log(a);
          expect(renderRules(shuffled)["rules.json"]).toBe(a);
          const doc = JSON.parse(a);
          expect(doc.schemaVersion).toBe(1);
          expect(doc.rules.map((r: AnalysisRule) => r.id)).toEqual(rules.map((r) => r.id).sort());
          expect(doc.checksum).toMatch(/^[0-9a-f]{64}$/);
        },
      ),
    );
  });

  test("any rule the schema rejects for its threshold, the renderer refuses too", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ max: 0 }),
          fc.integer({ min: ANALYSIS_RULE_LIMITS.maxWindowSeconds + 1 }),
        ),
        (windowSeconds) => {
          const r = rule({ threshold: { count: 1, windowSeconds } });
          expect(rulesSchema.safeParse([r]).success).toBe(false);
          expect(() => renderRules([r])).toThrow(/threshold.windowSeconds must be 1-86400/);
        },
      ),
    );
  });

  test("a change of one rule changes the checksum the service compares", () => {
    const before = JSON.parse(renderRules([rule()])["rules.json"]!).checksum;
    const after = JSON.parse(renderRules([rule({ severity: "critical" })])["rules.json"]!).checksum;
    expect(after).not.toBe(before);
  });
});

describe("services[].autoscaling", () => {
  test("staging and prod autoscale audit-log-analysis without a replicas key", () => {
    for (const stack of ["staging", "prod"]) {
      const svc = (rawConfig(stack).services as any[])[analysis];
      expect(svc.replicas).toBeUndefined();
      expect(svc.autoscaling.maxReplicas).toBeGreaterThan(svc.autoscaling.minReplicas);
    }
  });

  const bad: [string, Record<string, unknown>, string][] = [
    [
      "max below min",
      { minReplicas: 3, maxReplicas: 2, cpuUtilization: 70 },
      "services[1].autoscaling.maxReplicas: is 2, below minReplicas 3",
    ],
    [
      "no target",
      { minReplicas: 1, maxReplicas: 2 },
      "services[1].autoscaling: needs a target: set cpuUtilization and/or memoryUtilization (percent of the requests)",
    ],
    [
      "a zero minimum",
      { minReplicas: 0, maxReplicas: 2, cpuUtilization: 70 },
      "services[1].autoscaling.minReplicas: must be at least 1 (got 0)",
    ],
    [
      "a tiny CPU target",
      { minReplicas: 1, maxReplicas: 2, cpuUtilization: 5 },
      "services[1].autoscaling.cpuUtilization: must be at least 10 (got 5)",
    ],
    [
      "a fractional maximum",
      { minReplicas: 1, maxReplicas: 2.5, cpuUtilization: 70 },
      "services[1].autoscaling.maxReplicas: must be a whole number (got 2.5)",
    ],
    [
      "a long stabilization window",
      { minReplicas: 1, maxReplicas: 2, cpuUtilization: 70, scaleDownStabilizationSeconds: 7200 },
      "services[1].autoscaling.scaleDownStabilizationSeconds: must be at most 3600 (got 7200)",
    ],
  ];
  test.each(bad)("rejects %s, naming the key", (_t, autoscaling, message) => {
    const out = lines((c) => {
      delete c.services[analysis].replicas;
      c.services[analysis].autoscaling = autoscaling;
    });
    expect(out).toEqual([message]);
  });

  test("rejects replicas together with autoscaling", () => {
    const out = lines(
      (c) =>
        (c.services[analysis].autoscaling = { minReplicas: 1, maxReplicas: 2, cpuUtilization: 70 }),
    );
    expect(out).toEqual([
      "services[1].replicas: must not be set together with autoscaling: the HorizontalPodAutoscaler owns the replica count (use autoscaling.minReplicas)",
    ]);
  });

  test("rejects a service with neither replicas nor autoscaling", () => {
    expect(lines((c) => delete c.services[analysis].replicas)).toEqual([
      "services[1].replicas: is required (a whole number), unless autoscaling is set",
    ]);
  });

  test("the apps quota must admit the autoscaling maximum plus a surge pod", () => {
    // prod: analysis at 5 + 1 pods of 2 CPU limit; one more allowed pod pushes limits past 20.
    const out = lines((c) => (c.services[analysis].autoscaling.maxReplicas = 6), "prod");
    expect(out).toEqual([
      "namespaces.apps.quota.limitsCpu: is 20000m but the services need 21500m during a rolling update (replicas, or the autoscaling maximum, + 1 surge pod each); raise the quota or shrink the services",
    ]);
  });

  test("the quota check counts the autoscaling maximum for any sizes (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: 19 }),
        fc.integer({ min: 1, max: 4000 }),
        (min, extra, cpuMillis) => {
          const max = Math.min(20, min + extra);
          const c = structuredClone(rawConfig("dev")) as any;
          const svc = c.services[analysis];
          delete svc.replicas;
          svc.autoscaling = { minReplicas: min, maxReplicas: max, cpuUtilization: 70 };
          svc.resources.requests.cpu = `${cpuMillis}m`;
          svc.resources.limits.cpu = `${cpuMillis}m`;
          const others = c.services
            .filter((_: unknown, i: number) => i !== analysis)
            .reduce(
              (a: number, s: any) => a + (s.replicas + 1) * parseInt(s.resources.requests.cpu),
              0,
            );
          const need = others + (max + 1) * cpuMillis;
          c.namespaces.apps.quota.requestsCpu = `${need}m`;
          c.namespaces.apps.quota.limitsCpu = "1000";
          c.namespaces.apps.quota.pods = 500;
          c.namespaces.apps.quota.requestsMemory = "1000Gi";
          c.namespaces.apps.quota.limitsMemory = "1000Gi";
          expect(peakReplicas(svc)).toBe(max);
          const fits = validateConfig(c, PROJECT);
          expect(fits.ok ? [] : fits.problems).toEqual([]);
          c.namespaces.apps.quota.requestsCpu = `${need - 1}m`;
          const short = validateConfig(c, PROJECT);
          expect(short.ok ? [] : short.problems.map((p) => p.key)).toEqual([
            `${PROJECT}:namespaces.apps.quota.requestsCpu`,
          ]);
        },
      ),
      { numRuns: 50 },
    );
  });
});
