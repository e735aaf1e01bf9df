/**
 * Runs the pack without the Pulumi engine: the very same policy objects, called as Pulumi's policy
 * runtime (@pulumi/policy's analyzer server) calls them, over resources recorded by the offline
 * plan or read from YAML. Where the two could differ, this follows the runtime:
 *
 * - the pack config is reconciled and validated against each policy's schema first (config.ts);
 * - a policy without a configured level falls back to its own, then to the pack's level;
 * - remediations run first, on their own copy of the properties, and validations see the result;
 * - stack policies see each resource's outputs (`PlannedResource.outputs`), which are empty on a
 *   first preview whose Kubernetes provider is not configured yet;
 * - values unknown until apply make a policy skip with a notice instead of failing;
 * - `notApplicable` is recorded as a notice, and every message carries the policy's description,
 *   which the engine shows above it.
 *
 * The real runtime tier (tests/policy-runtime) runs the pack in Pulumi's runtime over gRPC and
 * asserts that it reports exactly what this evaluator reports.
 */
import type {
  Policy,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { UNKNOWN_MARKER } from "../../shared/markers";
import { registry } from "../policies";
import { packArgs } from "../pack";
import { annotatedExemptions, exemptionOf, Severity, Theme } from "../lib/define";
import {
  loadPackConfig,
  PackConfigObject,
  PolicyConfig,
  reconcileConfig,
  stackConfigFile,
  ValidationCache,
} from "./config";

export {
  directoryCache,
  loadPackConfig,
  stackConfigFile,
  PackConfigError,
  reconcileConfig,
} from "./config";
export type { PackConfigObject } from "./config";

/** A resource as the plan or a manifest reader hands it over. */
export interface PlannedResource {
  urn: string;
  type: string;
  name: string;
  /** What the engine analyzes: the resource's inputs (after the provider's check). */
  props: Record<string, unknown>;
  /** What stack policies see: the outputs after the step. Defaults to `props`. */
  outputs?: Record<string, unknown>;
  parent?: string;
}

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
  /** The policy's severity, which the engine also puts on the diagnostic; absent if it has none. */
  severity?: Severity;
  resource: ResourceRef;
  /** What is wrong and how to fix it. */
  message: string;
  /** The policy's description, which the engine shows above the message. */
  description: string;
  /** Why the rule matters (the pack's policies all say), one line. */
  rationale?: string;
  /** Where the rationale is explained (the policy's `url`). */
  link?: string;
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
  /** Policies that could not judge (values unknown until apply, not applicable), as the engine reports them. */
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
export { UNKNOWN_MARKER };

class UnknownValue extends Error {}
class NotApplicable extends Error {}

function containsUnknown(v: unknown): boolean {
  if (v === UNKNOWN_MARKER) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (typeof v === "object" && v !== null) return Object.values(v).some(containsUnknown);
  return false;
}

/**
 * Like the runtime's proxy: reading a value unknown until apply throws, so the policy is skipped.
 * Read-only unless `writable` (a remediation's own copy).
 */
function unknownChecking<T>(v: T, at = "", writable = false): T {
  if (typeof v !== "object" || v === null) return v;
  const traps: ProxyHandler<object> = {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      const here = `${at}.${String(prop)}`;
      if (value === UNKNOWN_MARKER)
        throw new UnknownValue(`value at ${here} can't be known during preview`);
      const desc = Object.getOwnPropertyDescriptor(target, prop);
      if (desc && desc.configurable === false && desc.writable === false) return value;
      return unknownChecking(value, here, writable);
    },
  };
  return new Proxy(v as object, writable ? traps : { ...traps, ...readOnlyTraps(at) }) as T;
}

/** Writes throw what V8 throws for a frozen object, so a read-only proxy acts as frozenCopy's view. */
function readOnlyTraps(at: string): ProxyHandler<object> {
  return {
    set(_target, prop) {
      throw new TypeError(`Cannot assign to read only property '${String(prop)}' at ${at || "."}`);
    },
    deleteProperty(_target, prop) {
      throw new TypeError(`Cannot delete property '${String(prop)}' at ${at || "."}`);
    },
    defineProperty(_target, prop) {
      throw new TypeError(`Cannot define property '${String(prop)}' at ${at || "."}`);
    },
  };
}

/**
 * A deep-frozen copy of a resource's properties: the one view every policy of a phase is handed.
 * The runtime deserializes the properties afresh for each policy, so one policy's changes can never
 * reach another; sharing one object here is what keeps the evaluator fast, and freezing it keeps
 * that isolation: a policy that writes to what it judges fails (see PolicyMutation) instead of
 * changing what the policies after it see. The caller's objects are never frozen or changed.
 */
function frozenCopy<T>(v: T): T {
  if (typeof v !== "object" || v === null) return v;
  if (Array.isArray(v)) return Object.freeze(v.map(frozenCopy)) as T;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(v)) out[key] = frozenCopy((v as Record<string, unknown>)[key]);
  return Object.freeze(out) as T;
}

/**
 * What V8 throws when code writes to a frozen object (assignment in strict code, push, splice,
 * delete, defineProperty): the evaluator turns it into a PolicyMutation naming the policy.
 */
const FROZEN_WRITE =
  /^Cannot (assign to read only property|add property|delete property|define property|redefine property)|object is not extensible/;

/** A policy changed the properties it was given to judge. */
export class PolicyMutation extends Error {}

function refOf(r: PlannedResource): ResourceRef {
  const meta = (r.props?.metadata ?? {}) as { name?: string; namespace?: string };
  return { type: r.type, name: meta.name ?? r.name, namespace: meta.namespace, urn: r.urn };
}

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
  /** Configs already found valid (command line tools). Defaults to validating every time. */
  validationCache?: ValidationCache;
}

type AnyPolicy = ResourceValidationPolicy | StackValidationPolicy;

interface Active extends PolicyConfig {
  p: AnyPolicy;
  getConfig: () => Record<string, unknown>;
}

/** One evaluation: the report being filled and the bookkeeping shared by both phases. */
class Run {
  readonly pending: Promise<void>[] = [];
  readonly byUrn: Map<string, PlannedResource>;
  readonly unknowns: Set<PlannedResource>;
  readonly notApplicable = (reason?: string): never => {
    throw new NotApplicable(reason ?? "Policy does not apply");
  };

  constructor(
    readonly report: PackReport,
    resources: PlannedResource[],
  ) {
    this.byUrn = new Map(resources.map((r) => [r.urn, r]));
    this.unknowns = new Set(resources.filter((r) => containsUnknown(r.props)));
  }

  record(policy: Policy, level: string, r: PlannedResource, message: string, urn?: string): void {
    const target = urn ? (this.byUrn.get(urn) ?? r) : r;
    const meta = registry.get(policy.name);
    this.report.violations.push({
      policy: policy.name,
      theme: meta?.theme ?? "unknown",
      enforcement: level === "advisory" ? "advisory" : "mandatory",
      severity: policy.severity,
      resource: refOf(target),
      message,
      description: policy.description,
      rationale: meta?.rationale,
      link: policy.url,
    });
  }

  /** Runs one policy call; unknown values and notApplicable become notices, anything else fails. */
  guard(policy: Policy, r: PlannedResource, run: () => unknown): void {
    const onError = (e: unknown) => {
      if (e instanceof NotApplicable || e instanceof UnknownValue) {
        const message =
          e instanceof UnknownValue ? `can't run during preview: ${e.message}` : e.message;
        this.report.notices.push({ policy: policy.name, resource: refOf(r), message });
        return;
      }
      // By name, not instanceof: a built-in (push, splice) throws its own realm's TypeError.
      if ((e as Error)?.name === "TypeError" && FROZEN_WRITE.test((e as Error).message))
        throw new PolicyMutation(
          `policy ${policy.name} changed the properties of ${r.type} ${r.name} it was given to judge ` +
            `(${(e as Error).message}): a policy must only read them; copy what it needs to change`,
        );
      throw new Error(
        `policy ${policy.name} failed on ${r.type} ${r.name}: ${(e as Error).message}`,
      );
    };
    try {
      const out = run();
      if (out instanceof Promise) this.pending.push(out.catch(onError));
    } catch (e) {
      onError(e);
    }
  }

  /** Frozen copies already made, by the object copied (the stack phase reuses the resource phase's). */
  private readonly frozen = new WeakMap<object, unknown>();

  /** The read-only view of a resource's properties that every policy of a phase shares. */
  view<T>(r: PlannedResource, v: T): T {
    if (this.unknowns.has(r)) return unknownChecking(v);
    if (typeof v !== "object" || v === null) return v;
    let copy = this.frozen.get(v) as T | undefined;
    if (copy === undefined) this.frozen.set(v, (copy = frozenCopy(v)));
    return copy;
  }

  /** A remediation's view of its own copy: writable, unknown values still throw when read. */
  writableView<T>(r: PlannedResource, copy: T): T {
    return this.unknowns.has(r) ? unknownChecking(copy, "", true) : copy;
  }
}

function resolveConfig(opts: RunOptions): { config: PackConfigObject; configFile?: string } {
  if (opts.config) return { config: opts.config };
  const configFile = opts.configFile ?? (opts.stack ? stackConfigFile(opts.stack) : undefined);
  return { config: configFile ? loadPackConfig(configFile) : {}, configFile };
}

/** The enabled policies with their level and properties, as the engine configures them. */
function activePolicies(
  pack: AnyPolicy[],
  config: PackConfigObject,
  cache?: ValidationCache,
): Active[] {
  const reconciled = reconcileConfig(pack, packArgs.enforcementLevel ?? "advisory", config, cache);
  return pack
    .map((p) => {
      const c = reconciled.get(p.name)!;
      return { p, ...c, getConfig: () => c.props };
    })
    .filter((x) => x.level !== "disabled");
}

/** Remediations of one resource, in pack order, each on the previous one's result. */
function remediate(run: Run, remediators: Active[], r: PlannedResource): Record<string, unknown> {
  let props = r.props;
  for (const { p, getConfig } of remediators) {
    const policy = p as ResourceValidationPolicy;
    const copy = structuredClone(props);
    const args = {
      type: r.type,
      name: r.name,
      urn: r.urn,
      props: run.writableView(r, copy),
      getConfig,
      notApplicable: run.notApplicable,
    } as unknown as ResourceValidationArgs;
    run.guard(p, r, () => {
      const fixed = policy.remediateResource!(args);
      if (fixed instanceof Promise) throw new Error("asynchronous remediations are not supported");
      if (fixed && JSON.stringify(copy) !== JSON.stringify(props)) {
        props = copy;
        run.report.remediations.push({ policy: p.name, resource: refOf(r) });
      }
    });
  }
  return props;
}

function runResourcePolicies(run: Run, active: Active[], resources: PlannedResource[]): void {
  const resourcePolicies = active
    .filter((x) => "validateResource" in x.p || "remediateResource" in x.p)
    .map((x) => {
      const v = (x.p as ResourceValidationPolicy).validateResource;
      return { ...x, validations: Array.isArray(v) ? v : v ? [v] : [] };
    });
  const remediators = resourcePolicies.filter(
    (x) => x.level === "remediate" && (x.p as ResourceValidationPolicy).remediateResource,
  );
  for (const r of resources) {
    const props = remediators.length ? remediate(run, remediators, r) : r.props;
    // One read-only view of the properties per resource, shared by its policies (the hot path);
    // each policy call gets its own small args object, so none can swap what the next one sees.
    const view = run.view(r, props);
    for (const { p, level, getConfig, validations } of resourcePolicies) {
      const args = {
        type: r.type,
        name: r.name,
        urn: r.urn,
        props: view,
        getConfig,
        notApplicable: run.notApplicable,
      } as unknown as ResourceValidationArgs;
      // A remediated resource that still violates is reported as mandatory, as the runtime does.
      for (const v of validations)
        run.guard(p, r, () => v(args, (message) => run.record(p, level, r, message ?? "")));
    }
  }
}

function runStackPolicies(
  run: Run,
  active: Active[],
  resources: PlannedResource[],
  stack?: string,
): void {
  // Read-only like the properties, so no stack policy can change what the next one sees.
  const policyResources = Object.freeze(
    resources.map((r) =>
      Object.freeze({
        type: r.type,
        name: r.name,
        urn: r.urn,
        props: run.view(r, r.outputs ?? r.props),
        dependencies: Object.freeze([]),
        propertyDependencies: Object.freeze({}),
      }),
    ),
  );
  const stackRef: PlannedResource = {
    urn: "",
    type: "pulumi:pulumi:Stack",
    name: stack ?? "stack",
    props: {},
  };
  for (const { p, level, getConfig } of active) {
    if (!("validateStack" in p)) continue;
    const args = {
      resources: policyResources,
      getConfig,
      notApplicable: run.notApplicable,
    } as unknown as StackValidationArgs;
    run.guard(p, stackRef, () =>
      p.validateStack(args, (message, urn) => run.record(p, level, stackRef, message ?? "", urn)),
    );
  }
}

/** Every exemption, with its reason and where it was declared; annotations naming no policy. */
function listExemptions(report: PackReport, active: Active[], resources: PlannedResource[]) {
  for (const r of resources) {
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
    for (const name of annotatedExemptions(r.props)) {
      if (!registry.has(name)) {
        report.notices.push({
          policy: name,
          resource: refOf(r),
          message: `exemption names an unknown policy "${name}"`,
        });
      }
    }
  }
}

/** Evaluates the pack over the resources and returns every violation, exemption and notice. */
export async function runPack(
  resources: PlannedResource[],
  opts: RunOptions = {},
): Promise<PackReport> {
  const { config, configFile } = resolveConfig(opts);
  const active = activePolicies(
    opts.policies ?? (packArgs.policies as AnyPolicy[]),
    config,
    opts.validationCache,
  );
  const report: PackReport = {
    stack: opts.stack,
    configFile,
    violations: [],
    exemptions: [],
    notices: [],
    remediations: [],
    summary: {
      resources: resources.length,
      policies: active.length,
      mandatory: 0,
      advisory: 0,
      exemptions: 0,
    },
  };
  const run = new Run(report, resources);
  if (opts.only !== "stack") runResourcePolicies(run, active, resources);
  if (opts.only !== "resource") runStackPolicies(run, active, resources, opts.stack);
  await Promise.all(run.pending);
  listExemptions(report, active, resources);
  report.summary.mandatory = report.violations.filter((v) => v.enforcement === "mandatory").length;
  report.summary.advisory = report.violations.filter((v) => v.enforcement === "advisory").length;
  report.summary.exemptions = report.exemptions.length;
  return report;
}
