/**
 * Schemas of the per-service options beyond size and placement: analysis rules and autoscaling.
 * `infra/schema.ts` adds them to `services[]`; the rules that span keys (which service may have
 * rules, replicas versus autoscaling, the quota at the HPA's maximum) live there too.
 */
import { z } from "zod";
import {
  ANALYSIS_RULE_LIMITS as L,
  RULE_GROUP_BY,
  RULE_OUTCOMES,
  RULE_SEVERITIES,
} from "../components/apps/analysis-rules";
import { catalog, SERVICE_NAMES, type ServiceName } from "../components/apps/catalog";

const glob = z.string().regex(L.globPattern, {
  error: "must be a glob pattern of letters, digits and . _ : / @ - with * as the wildcard",
});
const globs = z.array(glob).min(1, { error: "must list at least one pattern" }).optional();
const whole = (min: number, max: number) =>
  z
    .number({ error: "must be a whole number" })
    .int({ error: "must be a whole number" })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` });

const ruleSchema = z.strictObject({
  id: z.string().regex(L.idPattern, {
    error: "must be a kebab-case name (lower-case letters, digits and '-', at most 63)",
  }),
  description: z
    .string()
    .min(1, { error: "must not be empty" })
    .max(L.maxDescription, {
      error: `must be at most ${L.maxDescription} characters`,
    }),
  severity: z.enum(RULE_SEVERITIES),
  match: z
    .strictObject({
      eventTypes: globs,
      actors: globs,
      resources: globs,
      outcome: z.enum(RULE_OUTCOMES).optional(),
    })
    .refine((m) => m.eventTypes || m.actors || m.resources || m.outcome, {
      error:
        "needs at least one condition (eventTypes, actors, resources or outcome); a rule that matches every event is a mistake",
    }),
  threshold: z
    .strictObject({
      count: whole(1, L.maxCount),
      windowSeconds: whole(1, L.maxWindowSeconds),
      groupBy: z
        .array(z.enum(RULE_GROUP_BY))
        .refine((g) => new Set(g).size === g.length, { error: "must not repeat a field" })
        .optional(),
    })
    .optional(),
  enabled: z.boolean().optional(),
});

/** `services[].rules`: the analysis rules, unique ids. */
export const rulesSchema = z
  .array(ruleSchema)
  .max(L.maxRules, { error: `must list at most ${L.maxRules} rules` })
  .superRefine((rules, ctx) => {
    const seen = new Set<string>();
    rules.forEach((r, i) => {
      if (seen.has(r.id))
        ctx.addIssue({ code: "custom", path: [i, "id"], message: `duplicate rule id "${r.id}"` });
      seen.add(r.id);
    });
  });

/** `services[].autoscaling`: an autoscaling/v2 HorizontalPodAutoscaler. */
export const autoscalingSchema = z
  .strictObject({
    minReplicas: whole(1, 20),
    maxReplicas: whole(1, 20),
    cpuUtilization: whole(10, 1000).optional(),
    memoryUtilization: whole(10, 1000).optional(),
    scaleDownStabilizationSeconds: whole(0, 3600).optional(),
  })
  .superRefine((a, ctx) => {
    if (a.maxReplicas < a.minReplicas)
      ctx.addIssue({
        code: "custom",
        path: ["maxReplicas"],
        message: `is ${a.maxReplicas}, below minReplicas ${a.minReplicas}`,
      });
    if (a.cpuUtilization === undefined && a.memoryUtilization === undefined)
      ctx.addIssue({
        code: "custom",
        path: [],
        message:
          "needs a target: set cpuUtilization and/or memoryUtilization (percent of the requests)",
      });
  });
export type AutoscalingSpec = z.infer<typeof autoscalingSchema>;

/** What the cross-key rules below read of a service entry. */
interface ServiceOptions {
  name: ServiceName;
  replicas?: number;
  autoscaling?: AutoscalingSpec;
  rules?: unknown[];
}

/** The most pods a service runs outside a rollout: its HPA's maximum, else its replicas. */
export function peakReplicas(s: Pick<ServiceOptions, "replicas" | "autoscaling">): number {
  return s.autoscaling?.maxReplicas ?? s.replicas ?? 1;
}

/**
 * services[i]: replicas or autoscaling (not both, not neither); rules only for a service that
 * reads them.
 */
export function serviceOptionRules(
  s: ServiceOptions,
  i: number,
  issue: (path: (string | number)[], message: string) => void,
): void {
  if (s.replicas !== undefined && s.autoscaling) {
    issue(
      ["services", i, "replicas"],
      "must not be set together with autoscaling: the HorizontalPodAutoscaler owns the replica count (use autoscaling.minReplicas)",
    );
  }
  if (s.replicas === undefined && !s.autoscaling) {
    issue(["services", i, "replicas"], "is required (a whole number), unless autoscaling is set");
  }
  if (s.rules && !catalog[s.name].readsRules) {
    const readers = SERVICE_NAMES.filter((n) => catalog[n].readsRules).join(", ");
    issue(
      ["services", i, "rules"],
      `is only allowed for a service that reads analysis rules (${readers}); ${s.name} does not`,
    );
  }
}
