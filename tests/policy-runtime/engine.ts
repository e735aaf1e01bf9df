/**
 * The Pulumi engine's side of a policy pack, without the Pulumi CLI: starts the pack exactly as the
 * engine and language host do and drives Pulumi's real policy runtime over the Analyzer gRPC
 * protocol with the proto stubs @pulumi/pulumi ships.
 *
 * - Start: `node <@pulumi/pulumi/cmd/run-policy-pack as resolved from the pack> <engine address> .`
 *   with the pack directory as working directory (what the `pulumi-analyzer-policy` script does),
 *   the environment the engine adds (PULUMI_CONFIG, PULUMI_[NODEJS_]PROJECT/STACK/DRY_RUN) and
 *   PULUMI_NODEJS_ENGINE, so the runtime's log calls reach this engine's Log service. The runtime
 *   loads index.ts through ts-node with type checking and prints its port on stdout.
 * - Wire: properties are sent as the engine marshals them (MarshalProperties with KeepSecrets and
 *   KeepUnknowns): secrets as `{"4dabf...": "1b470...", value}` objects, values unknown in preview
 *   as the unknown sentinel, keys starting with "__" dropped.
 * - Config: the engine reconciles the pack config with the schemas GetAnalyzerInfo reports and
 *   refuses it when invalid, before Configure (reconcileConfig, given the wire's policy infos).
 */
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import * as analyzerGrpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as pb from "@pulumi/pulumi/proto/analyzer_pb";
import * as engineGrpc from "@pulumi/pulumi/proto/engine_grpc_pb";
import type { EnforcementLevel, Policy } from "@pulumi/policy";
import { PackConfigObject, PlannedResource, reconcileConfig } from "../../policy/engine/evaluate";
import type { PolicyConfig } from "../../policy/engine/config";
import { SECRET_SIG, SIG_KEY } from "../../scripts/lib/mock-run";
import { UNKNOWN_MARKER } from "../../shared/markers";

export const PACK_DIR = path.resolve(__dirname, "../../policy");
export { SECRET_SIG, SIG_KEY };
export const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

type SeverityName = "unspecified" | "low" | "medium" | "high" | "critical";
const SEVERITY_NAMES: Record<number, SeverityName> = {
  [pb.PolicySeverity.POLICY_SEVERITY_UNSPECIFIED]: "unspecified",
  [pb.PolicySeverity.POLICY_SEVERITY_LOW]: "low",
  [pb.PolicySeverity.POLICY_SEVERITY_MEDIUM]: "medium",
  [pb.PolicySeverity.POLICY_SEVERITY_HIGH]: "high",
  [pb.PolicySeverity.POLICY_SEVERITY_CRITICAL]: "critical",
};
const LEVEL_NAMES: Record<number, EnforcementLevel> = {
  [pb.EnforcementLevel.ADVISORY]: "advisory",
  [pb.EnforcementLevel.MANDATORY]: "mandatory",
  [pb.EnforcementLevel.REMEDIATE]: "remediate",
  [pb.EnforcementLevel.DISABLED]: "disabled",
};
const LEVEL_CODES = Object.fromEntries(
  Object.entries(LEVEL_NAMES).map(([k, v]) => [v, Number(k)]),
) as Record<EnforcementLevel, pb.EnforcementLevel>;

/** A resource on the wire: its properties already in the engine's marshalled form. */
export interface WireResource {
  urn: string;
  type: string;
  name: string;
  props: Record<string, unknown>;
  outputs: Record<string, unknown>;
}

/** Marks the values at `secretPaths` (`a.b[0].c`) secret, the engine's wire form. */
export function markSecrets(v: Record<string, unknown>, secretPaths: string[]) {
  const out = structuredClone(v);
  for (const p of secretPaths) {
    const keys = p.match(/[^.[\]]+/g) ?? [];
    let parent: Record<string, unknown> | undefined = out;
    for (const k of keys.slice(0, -1)) parent = parent?.[k] as Record<string, unknown>;
    const last = keys[keys.length - 1];
    if (parent && last !== undefined && last in parent)
      parent[last] = { [SIG_KEY]: SECRET_SIG, value: parent[last] };
  }
  return out;
}

/** MarshalProperties(KeepUnknowns, KeepSecrets, SkipInternalKeys) of plain plan values. */
export function marshal(v: unknown): unknown {
  if (v === UNKNOWN_MARKER) return UNKNOWN_STRING;
  if (Array.isArray(v)) return v.map(marshal);
  if (typeof v === "object" && v !== null)
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k, e]) => !k.startsWith("__") && e !== undefined)
        .map(([k, e]) => [k, marshal(e)]),
    );
  return v;
}

/** A planned resource as the engine sends it (props: inputs; outputs: what stack policies get). */
export function toWire(r: PlannedResource, secretPaths: string[] = []): WireResource {
  return {
    urn: r.urn,
    type: r.type,
    name: r.name,
    props: marshal(markSecrets(r.props, secretPaths)) as Record<string, unknown>,
    outputs: marshal(markSecrets(r.outputs ?? r.props, secretPaths)) as Record<string, unknown>,
  };
}

export interface Diagnostic {
  policy: string;
  enforcement: EnforcementLevel;
  /** The severity the runtime put on the diagnostic ("unspecified" when the policy has none). */
  severity: SeverityName;
  urn: string;
  message: string;
  description: string;
}

export interface AnalyzerInfo {
  name: string;
  version: string;
  policies: {
    name: string;
    description: string;
    enforcementLevel: EnforcementLevel;
    severity: SeverityName;
    url: string;
    type: "resource" | "stack" | "unknown";
    configSchema?: { properties: Record<string, unknown>; required: string[] };
  }[];
}

export interface LogEntry {
  severity: number;
  message: string;
}

/** A unary call of a generated client method, as a promise. */
function call<Res>(fn: unknown, client: object, req: unknown): Promise<Res> {
  const method = fn as (
    req: unknown,
    cb: (err: grpc.ServiceError | null, res: Res) => void,
  ) => void;
  return new Promise((resolve, reject) =>
    method.call(client, req, (err, res) => (err ? reject(err) : resolve(res))),
  );
}

function resourceOptions(): pb.AnalyzerResourceOptions {
  const opts = new pb.AnalyzerResourceOptions();
  opts.setCustomtimeouts(new pb.AnalyzerResourceOptions.CustomTimeouts());
  return opts;
}

export interface StartOptions {
  stack?: string;
  project?: string;
  dryRun?: boolean;
  /** Stack config the engine passes in PULUMI_CONFIG (non-secret values only here). */
  config?: Record<string, string>;
  /** Pack directory. Defaults to policy/. */
  packDir?: string;
}

/** A running policy pack under Pulumi's policy runtime, and the engine that talks to it. */
export class PolicyRuntime {
  readonly logs: LogEntry[] = [];
  stderr = "";
  private constructor(
    private readonly proc: ChildProcess,
    private readonly engine: grpc.Server,
    private readonly client: analyzerGrpc.AnalyzerClient,
    /** Seconds from spawn to the printed port (ts-node type-checks the pack in between). */
    readonly startSeconds: number,
  ) {}

  static async start(opts: StartOptions = {}): Promise<PolicyRuntime> {
    const logs: LogEntry[] = [];
    const engine = new grpc.Server();
    engine.addService(engineGrpc.EngineService, {
      log: (
        c: grpc.ServerUnaryCall<{ getSeverity(): number; getMessage(): string }, Empty>,
        cb: grpc.sendUnaryData<Empty>,
      ) => {
        logs.push({ severity: c.request.getSeverity(), message: c.request.getMessage() });
        cb(null, new Empty());
      },
    } as unknown as grpc.UntypedServiceImplementation);
    const enginePort = await new Promise<number>((resolve, reject) =>
      engine.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, port) =>
        e ? reject(e) : resolve(port),
      ),
    );
    const engineAddr = `127.0.0.1:${enginePort}`;
    const packDir = opts.packDir ?? PACK_DIR;
    // What `pulumi-analyzer-policy` runs: the run-policy-pack module the pack itself resolves.
    const entry = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [packDir] });
    const env: NodeJS.ProcessEnv = { ...process.env, PULUMI_NODEJS_ENGINE: engineAddr };
    for (const prefix of ["PULUMI_NODEJS_", "PULUMI_"]) {
      env[`${prefix}PROJECT`] = opts.project ?? "auditflow-platform";
      env[`${prefix}STACK`] = opts.stack ?? "dev";
      env[`${prefix}DRY_RUN`] = String(opts.dryRun ?? true);
    }
    if (opts.config) env.PULUMI_CONFIG = JSON.stringify(opts.config);
    const started = process.hrtime.bigint();
    const proc = spawn(process.execPath, [entry, engineAddr, "."], {
      cwd: packDir,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    proc.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const port = await new Promise<string>((resolve, reject) => {
      // A pack that never prints its port leaves nothing running: stop this engine's server too.
      proc.on("exit", () => engine.forceShutdown());
      let out = "";
      proc.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const line = out.split("\n")[0]!.trim();
        if (out.includes("\n") && /^\d+$/.test(line)) resolve(line);
      });
      proc.on("exit", (code) =>
        reject(
          new Error(
            `the policy pack exited with ${code} before printing its port.\nstderr:\n${stderr}\nengine log:\n${logs.map((l) => l.message).join("\n")}`,
          ),
        ),
      );
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const client = new analyzerGrpc.AnalyzerClient(
      `127.0.0.1:${port}`,
      grpc.credentials.createInsecure(),
      { "grpc.max_receive_message_length": 400 * 1024 * 1024 },
    );
    const rt = new PolicyRuntime(proc, engine, client, seconds);
    (rt as { logs: LogEntry[] }).logs = logs;
    proc.stderr!.on("data", (d: Buffer) => (rt.stderr += d.toString()));
    return rt;
  }

  async stop(): Promise<void> {
    this.client.close();
    if (this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc.once("exit", r));
      this.proc.kill("SIGTERM");
      await exited;
    }
    this.engine.forceShutdown();
  }

  async info(): Promise<AnalyzerInfo> {
    const res = await call<pb.AnalyzerInfo>(this.client.getAnalyzerInfo, this.client, new Empty());
    return {
      name: res.getName(),
      version: res.getVersion(),
      policies: res.getPoliciesList().map((p) => {
        const schema = p.getConfigschema();
        return {
          name: p.getName(),
          description: p.getDescription(),
          enforcementLevel: LEVEL_NAMES[p.getEnforcementlevel()]!,
          severity: SEVERITY_NAMES[p.getSeverity()]!,
          url: p.getUrl(),
          type:
            p.getPolicyType() === pb.PolicyType.POLICY_TYPE_RESOURCE
              ? "resource"
              : p.getPolicyType() === pb.PolicyType.POLICY_TYPE_STACK
                ? "stack"
                : "unknown",
          configSchema: schema && {
            properties: (schema.getProperties()?.toJavaScript() ?? {}) as Record<string, unknown>,
            required: schema.getRequiredList(),
          },
        };
      }),
    };
  }

  /**
   * Reconciles the pack config with the policies' schemas as the engine does (refusing it when
   * invalid) and sends it with Configure. Returns the reconciled config.
   */
  async configure(config: PackConfigObject): Promise<Map<string, PolicyConfig>> {
    const info = await this.info();
    const asPolicies = info.policies.map((p) => ({
      name: p.name,
      description: p.description,
      enforcementLevel: p.enforcementLevel,
      configSchema: p.configSchema,
    })) as unknown as Policy[];
    const reconciled = reconcileConfig(asPolicies, "advisory", config);
    const req = new pb.ConfigureAnalyzerRequest();
    const map = req.getPolicyconfigMap();
    for (const [name, c] of reconciled) {
      const pc = new pb.PolicyConfig();
      pc.setEnforcementlevel(LEVEL_CODES[c.level]);
      pc.setProperties(Struct.fromJavaScript(c.props as never));
      map.set(name, pc);
    }
    await call<Empty>(this.client.configure, this.client, req);
    return reconciled;
  }

  private request(r: WireResource, props: Record<string, unknown>): pb.AnalyzeRequest {
    const req = new pb.AnalyzeRequest();
    req.setUrn(r.urn);
    req.setType(r.type);
    req.setName(r.name);
    req.setProperties(Struct.fromJavaScript(props as never));
    req.setOptions(resourceOptions());
    return req;
  }

  async analyze(r: WireResource, props = r.props): Promise<{ diagnostics: Diagnostic[] }> {
    const res = await call<pb.AnalyzeResponse>(
      this.client.analyze,
      this.client,
      this.request(r, props),
    );
    return { diagnostics: diagnosticsOf(res, r.urn) };
  }

  /** Remediate: each remediation with the properties it returned (wire form, secrets wrapped). */
  async remediate(
    r: WireResource,
  ): Promise<{ policy: string; properties?: Record<string, unknown>; diagnostic: string }[]> {
    const res = await call<pb.RemediateResponse>(
      this.client.remediate,
      this.client,
      this.request(r, r.props),
    );
    return res.getRemediationsList().map((x) => ({
      policy: x.getPolicyname(),
      properties: x.getProperties()?.toJavaScript() as Record<string, unknown> | undefined,
      diagnostic: x.getDiagnostic(),
    }));
  }

  async analyzeStack(
    resources: WireResource[],
  ): Promise<{ diagnostics: Diagnostic[]; notApplicable: { policy: string; reason: string }[] }> {
    const req = new pb.AnalyzeStackRequest();
    req.setResourcesList(
      resources.map((r) => {
        const ar = new pb.AnalyzerResource();
        ar.setUrn(r.urn);
        ar.setType(r.type);
        ar.setName(r.name);
        ar.setProperties(Struct.fromJavaScript(r.outputs as never));
        ar.setOptions(resourceOptions());
        return ar;
      }),
    );
    const res = await call<pb.AnalyzeResponse>(this.client.analyzeStack, this.client, req);
    return {
      diagnostics: diagnosticsOf(res, ""),
      notApplicable: res
        .getNotApplicableList()
        .map((n) => ({ policy: n.getPolicyName(), reason: n.getReason() })),
    };
  }
}

function diagnosticsOf(res: pb.AnalyzeResponse, urn: string): Diagnostic[] {
  return res.getDiagnosticsList().map((d) => ({
    policy: d.getPolicyname(),
    enforcement: LEVEL_NAMES[d.getEnforcementlevel()]!,
    severity: SEVERITY_NAMES[d.getSeverity()]!,
    urn: d.getUrn() || urn,
    message: d.getMessage(),
    description: d.getDescription(),
  }));
}
