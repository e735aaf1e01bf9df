/**
 * How every policy of the pack is built: one definition gives the CrossGuard policy (for the
 * Pulumi engine) plus the metadata the offline evaluator, the README table and the output use.
 *
 * Exemptions are explicit: the resource's annotations `policy.auditflow.dev/exempt` (comma-separated
 * policy names) and `policy.auditflow.dev/exempt-reason`, or an entry in the policy's pack config
 * (`exempt: [{ kind, namespace, name, reason }]`). Exempted resources are never checked by that
 * policy and are listed by `exemptions-listed`; an annotation without a reason is a violation of
 * `exemption-has-reason`.
 */
import type {
  PolicyConfigSchema,
  ReportViolation,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";
import {
  isApiObjectType,
  K8sObject,
  kindOf,
  nameOf,
  namespaceOf,
  Workload,
  WORKLOAD_KINDS,
  workloadOf,
} from "./k8s";

export type Theme =
  | "resources"
  | "probes"
  | "security"
  | "images"
  | "rbac"
  | "networking"
  | "availability"
  | "secrets"
  | "metadata";

/** How much a violation matters, for reviewers who must prioritise. */
export type Severity = "critical" | "high" | "medium" | "low";

/** Equivalent checks in the linters Kubernetes users compare a policy set with. */
export interface Equivalents {
  polaris?: string[];
  kubeLinter?: string[];
  kubeScore?: string[];
}

/** What the README, the offline evaluator and the output need to know about a policy. */
export interface PolicyMeta {
  name: string;
  theme: Theme;
  /** What the policy checks, one sentence. */
  description: string;
  /** How to fix a violation, one sentence (appended to every message). */
  fix: string;
  /** The fix for objects this project did not write (no project helpers). Defaults to `fix`. */
  genericFix?: string;
  equivalents: Equivalents;
  /** How much a violation matters: critical, high, medium or low. */
  severity: Severity;
  /** Why the rule matters, one line a reviewer reads next to a violation. */
  rationale: string;
  /** Where to read more (Kubernetes documentation or the tool's own). */
  link: string;
  /** Whether the policy can remediate (used only at the "remediate" level). */
  remediates: boolean;
  stack: boolean;
}

export const EXEMPT_ANNOTATION = "policy.auditflow.dev/exempt";
export const EXEMPT_REASON_ANNOTATION = "policy.auditflow.dev/exempt-reason";

/** One exemption entry in a policy's pack config. */
export interface ConfigExemption {
  kind?: string;
  namespace?: string;
  name: string;
  reason: string;
}

const exemptSchema = {
  type: "array",
  items: {
    type: "object",
    properties: {
      kind: { type: "string" },
      namespace: { type: "string" },
      name: { type: "string" },
      reason: { type: "string", minLength: 1 },
    },
    required: ["name", "reason"],
  },
  default: [],
} as const;

/** The policy names an object's annotation exempts it from. */
export function annotatedExemptions(props: K8sObject | undefined): string[] {
  const raw = props?.metadata?.annotations?.[EXEMPT_ANNOTATION];
  return typeof raw === "string"
    ? raw
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
    : [];
}

/** Why the object is exempt from the policy, or undefined when it is not (or gives no reason). */
export function exemptionOf(
  policy: string,
  type: string,
  props: K8sObject | undefined,
  name: string,
  config: { exempt?: ConfigExemption[] },
): { reason: string; source: "annotation" | "pack config" } | undefined {
  if (annotatedExemptions(props).includes(policy)) {
    const reason = props?.metadata?.annotations?.[EXEMPT_REASON_ANNOTATION];
    if (typeof reason === "string" && reason.trim() !== "") return { reason, source: "annotation" };
    return undefined; // no reason: not exempt (and exemption-has-reason reports it)
  }
  if (!config.exempt?.length) return undefined;
  const kind = kindOf(type);
  const objName = nameOf(props, name);
  const ns = namespaceOf(props);
  const entry = (config.exempt ?? []).find(
    (e) =>
      (e.name === objName || e.name === name) &&
      (e.kind === undefined || e.kind === kind) &&
      (e.namespace === undefined || e.namespace === ns),
  );
  return entry ? { reason: entry.reason, source: "pack config" } : undefined;
}

export const registry = new Map<string, PolicyMeta>();

function register<C>(def: Common<C>, kind: { remediates: boolean; stack: boolean }): void {
  const { name, theme, description, fix, genericFix, equivalents, severity, rationale, link } = def;
  registry.set(name, {
    name,
    theme,
    description,
    fix,
    genericFix,
    equivalents,
    severity,
    rationale,
    link,
    ...kind,
  });
}

/** What every policy definition declares: its metadata (see PolicyMeta) plus its config. */
interface Common<C> extends Omit<PolicyMeta, "remediates" | "stack"> {
  /** Extra config properties (JSON schema) besides `exempt`. */
  config?: Record<string, unknown>;
  /** Typed view of getConfig(). */
  _config?: C;
}

export interface ResourceCheckArgs<C> {
  type: string;
  kind: string;
  props: K8sObject;
  name: string;
  urn: string;
  config: C & { exempt?: ConfigExemption[] };
  /** The pod-bearing part when the object is a workload. */
  workload?: Workload;
}

/** What a workload policy's check gets: the pod-bearing part is always there. */
export type WorkloadCheckArgs<C> = ResourceCheckArgs<C> & { workload: Workload };

interface ResourcePolicyBase<C> extends Common<C> {
  /** Kubernetes kinds the policy applies to; all Kubernetes objects when omitted. */
  kinds?: string[];
  /** A safe, unambiguous fix, applied only at the "remediate" level. */
  remediate?: (props: K8sObject) => K8sObject | undefined;
}

/** A policy on workloads only (objects with a pod template): `check` gets the workload. */
export interface WorkloadPolicyDef<C> extends ResourcePolicyBase<C> {
  workloads: true;
  /** Problems found, each "what is wrong, where" (the fix is appended). */
  check: (args: WorkloadCheckArgs<C>) => string[];
}

/** A policy on any Kubernetes object of its kinds. */
export interface ObjectPolicyDef<C> extends ResourcePolicyBase<C> {
  workloads?: false;
  /** Problems found, each "what is wrong, where" (the fix is appended). */
  check: (args: ResourceCheckArgs<C>) => string[];
}

export type ResourcePolicyDef<C> = WorkloadPolicyDef<C> | ObjectPolicyDef<C>;

/**
 * What the engine is told about a policy (GetAnalyzerInfo) besides its config schema: the runtime
 * also puts `severity` on every diagnostic it reports, and the Pulumi Cloud shows `url`.
 */
function engineMeta<C>(def: Common<C>) {
  return {
    name: def.name,
    description: def.description,
    remediationSteps: def.fix,
    severity: def.severity,
    url: def.link,
  };
}

function schemaOf(extra: Record<string, unknown> | undefined): PolicyConfigSchema {
  return {
    properties: { exempt: exemptSchema, ...(extra ?? {}) },
  } as unknown as PolicyConfigSchema;
}

/**
 * The message of a violation, as the engine shows it under the policy's description:
 * `[<severity>] <problem>. Fix: <fix>. See <link>`. The severity leads so a reviewer scanning (or
 * sorting) the output sees first what matters most; the link is where the rationale is explained.
 */
export function violationMessage(
  meta: Pick<PolicyMeta, "severity" | "fix" | "link">,
  problem: string,
): string {
  return `[${meta.severity}] ${problem}. Fix: ${meta.fix}. See ${meta.link}`;
}

/** The parts of a message violationMessage wrote; a message in another form is all problem. */
export interface MessageParts {
  problem: string;
  fix: string;
}

const MESSAGE = /^\[(?:critical|high|medium|low)\] ([^]*)\. Fix: ([^]*)\. See \S+$/;

/**
 * Splits a message into the problem and the fix violationMessage put together (the report formats
 * use it; severity and link travel on the violation itself).
 */
export function parseMessage(message: string): MessageParts {
  const m = MESSAGE.exec(message);
  if (m) return { problem: m[1]!, fix: m[2]! };
  const at = message.lastIndexOf(". Fix: ");
  return at < 0
    ? { problem: message, fix: "" }
    : { problem: message.slice(0, at), fix: message.slice(at + ". Fix: ".length) };
}

/** Whether a resource-level policy applies to a type/props pair (kinds and workload filters). */
function applies<C>(def: ResourcePolicyDef<C>, type: string, props: K8sObject | undefined) {
  const kind = kindOf(type);
  if (!kind || !props) return undefined;
  if (def.kinds && !def.kinds.includes(kind)) return undefined;
  const workload = workloadOf(type, props);
  if (def.workloads && !workload) return undefined;
  return { kind, workload };
}

export function resourcePolicy<C extends object = object>(
  def: WorkloadPolicyDef<C>,
): ResourceValidationPolicy;
export function resourcePolicy<C extends object = object>(
  def: ObjectPolicyDef<C>,
): ResourceValidationPolicy;
export function resourcePolicy<C extends object = object>(
  def: ResourcePolicyDef<C>,
): ResourceValidationPolicy {
  register(def, { remediates: !!def.remediate, stack: false });
  // applies() returns nothing for a non-workload when def.workloads is set, so a workload policy's
  // check always receives its workload: the one place that relies on it.
  const check = def.check as (args: ResourceCheckArgs<C>) => string[];
  const policy: ResourceValidationPolicy = {
    ...engineMeta(def),
    configSchema: schemaOf(def.config),
    validateResource: (args, report: ReportViolation) => {
      const props = args.props as K8sObject;
      const hit = applies(def, args.type, props);
      if (!hit) return;
      const config = args.getConfig<C & { exempt?: ConfigExemption[] }>();
      if (exemptionOf(def.name, args.type, props, args.name, config)) return;
      for (const problem of check({
        type: args.type,
        props,
        name: args.name,
        urn: args.urn,
        config,
        ...hit,
      })) {
        report(violationMessage(def, problem));
      }
    },
  };
  if (def.remediate) policy.remediateResource = remediation(def);
  return policy;
}

/**
 * A plain copy of properties read through the runtime's proxies. A value unknown until apply
 * (preview) stays unknown: reading it from the copy throws the runtime's error again, so a policy
 * that needs it is skipped with the engine's notice and one that does not is unaffected.
 */
function plainCopy<T>(v: T): T {
  if (typeof v !== "object" || v === null) return v;
  const out: K8sObject = Array.isArray(v) ? [] : {};
  for (const key of Object.keys(v)) {
    let value: unknown;
    try {
      value = (v as K8sObject)[key];
    } catch (e) {
      Object.defineProperty(out, key, {
        enumerable: true,
        configurable: true,
        get: () => {
          throw e;
        },
      });
      continue;
    }
    out[key] = plainCopy(value);
  }
  return out as T;
}

/** Whether the key holds a value unknown until apply (an accessor left by plainCopy). */
const unknownAt = (o: K8sObject, key: string) =>
  Object.getOwnPropertyDescriptor(o, key)?.get !== undefined;

/**
 * Writes into `target` only what differs between `before` and `after`, key by key and index by
 * index. The engine hands remediations a proxy that unwraps secrets on read and keeps a replaced
 * secret secret on write, so assigning only changed leaves keeps every other secret encrypted.
 * Values still unknown are left alone.
 */
function applyChanges(target: K8sObject, before: K8sObject, after: K8sObject): void {
  for (const key of Object.keys(before)) if (!(key in after)) delete target[key];
  for (const key of Object.keys(after)) {
    if (unknownAt(after, key)) continue;
    const value: unknown = after[key];
    if (unknownAt(before, key)) {
      target[key] = value;
      continue;
    }
    const old: unknown = before[key];
    const sameShape =
      typeof old === "object" &&
      old !== null &&
      typeof value === "object" &&
      value !== null &&
      Array.isArray(old) === Array.isArray(value) &&
      (!Array.isArray(old) || old.length === (value as unknown[]).length);
    if (sameShape) applyChanges(target[key] as K8sObject, old as K8sObject, value as K8sObject);
    else if (!sameValue(old, value)) target[key] = value;
  }
}

/** Deep equality of plain values (no value unknown inside: those differ from any other). */
function sameValue(a: unknown, b: unknown): boolean {
  try {
    return JSON.stringify(a) === JSON.stringify(b);
  } catch {
    return false;
  }
}

/**
 * The policy's remediateResource. It judges and fixes a plain copy of the properties (V8 refuses
 * Array methods such as map on the runtime's secret-unwrapping proxy), then writes only the
 * changes back through that proxy and returns it, so secrets stay secrets in the result.
 */
function remediation<C>(
  def: ResourcePolicyDef<C>,
): NonNullable<ResourceValidationPolicy["remediateResource"]> {
  const remediate = def.remediate!;
  return (args) => {
    // Not a Kubernetes object of the policy's kinds: nothing to read (nor to copy).
    const kind = kindOf(args.type);
    if (!kind || (def.kinds && !def.kinds.includes(kind))) return undefined;
    if (def.workloads && !(WORKLOAD_KINDS as readonly string[]).includes(kind)) return undefined;
    const plain = plainCopy(args.props) as K8sObject;
    const hit = applies(def, args.type, plain);
    if (!hit) return undefined;
    const config = args.getConfig<C & { exempt?: ConfigExemption[] }>();
    if (exemptionOf(def.name, args.type, plain, args.name, config)) return undefined;
    const found = (def.check as (args: ResourceCheckArgs<C>) => string[])({
      type: args.type,
      props: plain,
      name: args.name,
      urn: args.urn,
      config,
      ...hit,
    });
    if (found.length === 0) return undefined;
    const fixed = remediate(plainCopy(plain));
    if (!fixed) return undefined;
    applyChanges(args.props as K8sObject, plain, fixed);
    return args.props;
  };
}

/** A resource as stack policies see it. */
export interface StackResource {
  type: string;
  kind: string;
  name: string;
  urn: string;
  props: K8sObject;
}

export interface StackPolicyDef<C> extends Common<C> {
  /** Also hand non-Kubernetes resources to `check` (their kind is the type's last part). */
  allResources?: boolean;
  /**
   * Problems found, each with the resource it concerns. `subjects` are the resources the policy
   * judges (exempted ones left out); `all` are every Kubernetes object of the stack, for context.
   */
  check: (
    subjects: StackResource[],
    all: StackResource[],
    config: C,
  ) => { urn?: string; problem: string }[];
}

export function stackPolicy<C extends object = object>(
  def: StackPolicyDef<C>,
): StackValidationPolicy {
  register(def, { remediates: false, stack: true });
  return {
    ...engineMeta(def),
    configSchema: schemaOf(def.config),
    validateStack: (args, report) => {
      // On a first preview whose Kubernetes provider is not configured yet (its kubeconfig comes
      // from a cluster created in the same run), the engine has no outputs for Kubernetes objects.
      // Judging the stack from empty objects would report violations that do not exist.
      const unknown = args.resources.filter(
        (r) => isApiObjectType(r.type) && Object.keys(r.props ?? {}).length === 0,
      ).length;
      if (unknown > 0)
        args.notApplicable(
          `cannot judge yet: ${unknown} Kubernetes object(s) have no outputs until the first apply`,
        );
      const config = args.getConfig<C & { exempt?: ConfigExemption[] }>();
      const resources: StackResource[] = args.resources
        .filter((r) => r.props && (def.allResources || kindOf(r.type) !== undefined))
        .map((r) => ({
          type: r.type,
          kind: kindOf(r.type) ?? r.type.split(":").pop() ?? r.type,
          name: r.name,
          urn: r.urn,
          props: r.props as K8sObject,
        }));
      const subjects = resources.filter(
        (r) => !exemptionOf(def.name, r.type, r.props, r.name, config),
      );
      for (const v of def.check(subjects, resources, config))
        report(violationMessage(def, v.problem), v.urn);
    },
  };
}
