/**
 * Runs the pack without the Pulumi engine: the very same policy objects, called with arguments
 * shaped like the engine's, over resources recorded by the offline plan or read from YAML.
 *
 * Enforcement comes from the same per-stack pack config files the CLI takes with
 * `--policy-pack-config` (policy/config/<stack>.json): an "all" level, then per-policy levels and
 * properties; property defaults come from each policy's config schema, as the engine applies them.
 */
import * as fs from "fs";
import * as path from "path";
import type {
  EnforcementLevel,
  Policy,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { policies as allPolicies, registry } from "../policies";
import { annotatedExemptions, exemptionOf, Theme } from "../lib/define";

/** A resource as the plan or a manifest reader hands it over. */
export interface PlannedResource {
  urn: string;
  type: string;
  name: string;
  props: Record<string, unknown>;
  parent?: string;
}

export type PackConfigObject = Record<
  string,
  EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>)
>;

export interface ResourceRef {
  type: string;
  name: string;
  namespace?: string;
  urn: string;
}

export interface Violation {
  policy: string;
  theme: Theme | "unknown";
  enforcement: "advisory" | "mandatory";
  resource: ResourceRef;
  message: string;
}

export interface Exemption {
  policy: string;
  resource: ResourceRef;
  reason: string;
  source: "annotation" | "pack config";
}

export interface Notice {
  policy: string;
  resource: ResourceRef;
  message: string;
}

export interface PackReport {
  stack?: string;
  configFile?: string;
  violations: Violation[];
  exemptions: Exemption[];
  /** Policies that could not judge a value unknown until apply (preview), as the engine reports them. */
  notices: Notice[];
  /** Resources changed by a policy at the "remediate" level. */
  remediations: { policy: string; resource: ResourceRef }[];
  summary: {
    resources: number;
    policies: number;
    mandatory: number;
    advisory: number;
    exemptions: number;
  };
}

/** The marker the offline plan uses for values unknown until apply. */
export const UNKNOWN_MARKER = "[unknown until apply]";

class UnknownValue extends Error {}

/** The pack config file of a stack in this repository. */
export function stackConfigFile(stack: string): string {
  return path.resolve(__dirname, "..", "config", `${stack}.json`);
}

export function loadPackConfig(file: string): PackConfigObject {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`cannot read policy pack config ${file}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  try {
    return JSON.parse(text) as PackConfigObject;
  } catch (e) {
    throw new Error(`policy pack config ${file} is not valid JSON: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

const LEVELS: EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];

function levelOf(policy: Policy, config: PackConfigObject): EnforcementLevel {
  const pick = (v: PackConfigObject[string] | undefined) =>
    typeof v === "string" ? v : v?.enforcementLevel;
  const level =
    pick(config[policy.name]) ?? pick(config.all) ?? policy.enforcementLevel ?? "advisory";
  if (!LEVELS.includes(level)) {
    throw new Error(
      `policy pack config: "${policy.name}" has enforcement level "${level}"; allowed: ${LEVELS.join(", ")}`,
    );
  }
  return level;
}

function propsOf(policy: Policy, config: PackConfigObject): Record<string, unknown> {
  const defaults = Object.fromEntries(
    Object.entries((policy.configSchema?.properties ?? {}) as Record<string, { default?: unknown }>)
      .filter(([, s]) => s.default !== undefined)
      .map(([k, s]) => [k, s.default]),
  );
  const given = config[policy.name];
  const { enforcementLevel: _e, ...rest } =
    typeof given === "object" && given !== null ? given : {};
  return { ...defaults, ...rest };
}

function containsUnknown(v: unknown): boolean {
  if (v === UNKNOWN_MARKER) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (typeof v === "object" && v !== null) return Object.values(v).some(containsUnknown);
  return false;
}

/** Like the engine's proxy: reading a value unknown until apply throws, so the policy is skipped. */
function unknownChecking<T>(v: T): T {
  if (typeof v !== "object" || v === null) return v;
  return new Proxy(v as object, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (value === UNKNOWN_MARKER)
        throw new UnknownValue(`${String(prop)} is unknown until apply`);
      return unknownChecking(value);
    },
  }) as T;
}

function refOf(r: PlannedResource): ResourceRef {
  const meta = (r.props?.metadata ?? {}) as { name?: string; namespace?: string };
  return { type: r.type, name: meta.name ?? r.name, namespace: meta.namespace, urn: r.urn };
}

class NotApplicable extends Error {}

export interface RunOptions {
  /** Stack whose pack config (policy/config/<stack>.json) to use. */
  stack?: string;
  /** A pack config object (wins over stack and configFile). */
  config?: PackConfigObject;
  /** A pack config file. */
  configFile?: string;
  /** Which policies to run. Defaults to the whole pack. */
  policies?: (ResourceValidationPolicy | StackValidationPolicy)[];
  /** Run "resource" policies, "stack" policies or both. Defaults to both. */
  only?: "resource" | "stack";
}

/** Evaluates the pack over the resources and returns every violation, exemption and notice. */
export async function runPack(
  resources: PlannedResource[],
  opts: RunOptions = {},
): Promise<PackReport> {
  const configFile = opts.config
    ? undefined
    : (opts.configFile ?? (opts.stack ? stackConfigFile(opts.stack) : undefined));
  const config = opts.config ?? (configFile ? loadPackConfig(configFile) : {});
  const pack =
    opts.policies ?? (allPolicies as (ResourceValidationPolicy | StackValidationPolicy)[]);
  const report: PackReport = {
    stack: opts.stack,
    configFile,
    violations: [],
    exemptions: [],
    notices: [],
    remediations: [],
    summary: { resources: resources.length, policies: 0, mandatory: 0, advisory: 0, exemptions: 0 },
  };
  const active = pack
    .map((p) => ({ p, level: levelOf(p, config), props: propsOf(p, config) }))
    .filter((x) => x.level !== "disabled");
  report.summary.policies = active.length;
  const pending: Promise<void>[] = [];
  const notApplicable = (reason?: string): never => {
    throw new NotApplicable(reason);
  };
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const unknowns = new Set(resources.filter((r) => containsUnknown(r.props)));
  const record = (
    policy: Policy,
    level: EnforcementLevel,
    r: PlannedResource,
    message: string,
    urn?: string,
  ) => {
    const target = urn ? (byUrn.get(urn) ?? r) : r;
    report.violations.push({
      policy: policy.name,
      theme: registry.get(policy.name)?.theme ?? "unknown",
      enforcement: level === "advisory" ? "advisory" : "mandatory",
      resource: refOf(target),
      message,
    });
  };
  const guard = (policy: Policy, r: PlannedResource, run: () => void | Promise<void>) => {
    const onError = (e: unknown) => {
      if (e instanceof NotApplicable) return;
      if (e instanceof UnknownValue) {
        report.notices.push({
          policy: policy.name,
          resource: refOf(r),
          message: `can't run during preview: ${e.message}`,
        });
        return;
      }
      throw new Error(
        `policy ${policy.name} failed on ${r.type} ${r.name}: ${(e as Error).message}`,
      );
    };
    try {
      const out = run();
      if (out && typeof (out as Promise<void>).then === "function")
        pending.push((out as Promise<void>).catch(onError));
    } catch (e) {
      onError(e);
    }
  };

  // Resource policies, with remediation first where the stack chose that level. One args object
  // per resource is reused across policies (only getConfig differs), as this loop is the hot path.
  if (opts.only !== "stack") {
    const resourcePolicies = active
      .filter((x) => "validateResource" in x.p || "remediateResource" in x.p)
      .map((x) => {
        const p = x.p as ResourceValidationPolicy;
        const v = p.validateResource;
        return {
          ...x,
          p,
          getConfig: () => x.props,
          validations: Array.isArray(v) ? v : v ? [v] : [],
        };
      });
    for (const r of resources) {
      let props = unknowns.has(r) ? unknownChecking(r.props) : r.props;
      const args = {
        type: r.type,
        name: r.name,
        urn: r.urn,
        props,
        getConfig: undefined as unknown,
        notApplicable,
      };
      const typed = args as unknown as ResourceValidationArgs;
      for (const { p, level, getConfig, validations } of resourcePolicies) {
        args.getConfig = getConfig;
        if (level === "remediate" && p.remediateResource) {
          guard(p, r, () => {
            const fixed = p.remediateResource!(typed);
            // A remediation that returns the props unchanged did not remediate anything.
            const changed = fixed && JSON.stringify(fixed) !== JSON.stringify(props);
            if (changed && typeof (fixed as Promise<unknown>).then !== "function") {
              props = fixed as Record<string, unknown>;
              args.props = props;
              report.remediations.push({ policy: p.name, resource: refOf(r) });
            }
          });
        }
        for (const v of validations) {
          guard(p, r, () => v(typed, (message) => record(p, level, r, message)));
        }
      }
    }
  }

  // Stack policies see every resource at once.
  if (opts.only !== "resource") {
    const policyResources = resources.map((r) => ({
      type: r.type,
      name: r.name,
      urn: r.urn,
      props: unknowns.has(r) ? unknownChecking(r.props) : r.props,
      dependencies: [],
      propertyDependencies: {},
    }));
    for (const { p, level, props: cfg } of active) {
      if (!("validateStack" in p)) continue;
      const args = {
        resources: policyResources,
        getConfig: () => cfg,
        notApplicable,
      } as unknown as StackValidationArgs;
      const stackRef: PlannedResource = {
        urn: "",
        type: "pulumi:pulumi:Stack",
        name: opts.stack ?? "stack",
        props: {},
      };
      guard(p, stackRef, () =>
        p.validateStack(args, (message, urn) => record(p, level, stackRef, message, urn)),
      );
    }
  }
  await Promise.all(pending);

  // Every exemption is listed, with its reason and where it was declared.
  for (const r of resources) {
    const annotated = annotatedExemptions(r.props);
    for (const { p, props: cfg } of active) {
      const ex = exemptionOf(p.name, r.type, r.props, r.name, cfg as { exempt?: [] });
      if (ex)
        report.exemptions.push({
          policy: p.name,
          resource: refOf(r),
          reason: ex.reason,
          source: ex.source,
        });
    }
    for (const name of annotated) {
      if (!registry.has(name)) {
        report.notices.push({
          policy: name,
          resource: refOf(r),
          message: `exemption names an unknown policy "${name}"`,
        });
      }
    }
  }
  report.summary.mandatory = report.violations.filter((v) => v.enforcement === "mandatory").length;
  report.summary.advisory = report.violations.filter((v) => v.enforcement === "advisory").length;
  report.summary.exemptions = report.exemptions.length;
  return report;
}
