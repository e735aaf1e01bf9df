/**
 * Runs the whole program for a stack under the mock runtime, in a fresh module registry so that a
 * test file can run several stacks and modes one after another.
 */
import * as pulumi from "@pulumi/pulumi";
import type { WorkloadArgs } from "../../components/apps/workload";
import type { PostgresBackupArgs } from "../../components/data/postgres-backup";
import type { RecordedResource, RunResult } from "../../scripts/lib/mock-run";

export type { RecordedResource };

/** The age public key the backup fixtures encrypt to. */
export const BACKUP_RECIPIENT = "age1k04swajlv68e28nfmg6whdwxrf0559w2hdnw28ru8v6xs4953g6srkgym5";

/**
 * A PostgresBackup of one database (audit_log_analysis) in auditflow-data: nightly at 03:00,
 * verified at 04:30, 7 kept, encrypted to BACKUP_RECIPIENT. `overrides` replace whole keys.
 */
export function backupArgs(overrides: Partial<PostgresBackupArgs> = {}): PostgresBackupArgs {
  return {
    namespace: "auditflow-data",
    postgres: {
      host: "postgres.auditflow-data.svc",
      port: 5432,
      peer: { podLabels: { "app.kubernetes.io/name": "postgres" } },
      secretName: "pg",
    },
    databases: ["audit_log_analysis"],
    schedule: "0 3 * * *",
    verifySchedule: "30 4 * * *",
    keep: 7,
    storage: "10Gi",
    recipients: [BACKUP_RECIPIENT],
    verifyIdentity: pulumi.secret(`AGE-SECRET-KEY-1${"Q".repeat(58)}`),
    ...overrides,
  };
}

/** The `spec` of a recorded Kubernetes object, for assertions on its shape. */
export const specOf = (r: RecordedResource) => r.inputs.spec as any;

/** The liveness probe of demoWorkloadArgs' container. */
export const DEMO_PROBE = { httpGet: { path: "/healthz", port: "http" } };

/**
 * A small compliant workload the Workload and service tests start from: "demo" in auditflow, one
 * container "app" on port 8080 with requests, limits, liveness (DEMO_PROBE) and readiness
 * (/readyz) probes. `overrides` replace whole keys.
 */
export function demoWorkloadArgs(overrides: Partial<WorkloadArgs> = {}): WorkloadArgs {
  return {
    namespace: "auditflow",
    identity: { name: "demo", component: "api" },
    containers: [
      {
        name: "app",
        image: "ghcr.io/auditflow/demo:1.2.3",
        ports: [{ name: "http", containerPort: 8080 }],
        resources: {
          requests: { cpu: "50m", memory: "64Mi" },
          limits: { cpu: "200m", memory: "128Mi" },
        },
        livenessProbe: DEMO_PROBE,
        readinessProbe: { httpGet: { path: "/readyz", port: "http" } },
      },
    ],
    ...overrides,
  };
}

export async function planStack(
  stack: string,
  opts: {
    preview?: boolean;
    overrides?: Record<string, unknown>;
    env?: NodeJS.ProcessEnv;
    /** Answers the program's registry look-ups (see RunOptions.registry). Defaults to offline. */
    registry?: (image: string) => { os: string; architecture: string }[];
    onFailure?: (registered: RecordedResource[]) => void;
  } = {},
): Promise<RunResult> {
  let result: RunResult | undefined;
  await jest.isolateModulesAsync(async () => {
    const { runProgram } = await import("../../scripts/lib/mock-run");
    const { loadStackFile, stackFile, PROJECT } = await import("../../scripts/lib/stack-config");
    const loaded = loadStackFile(stackFile(stack), opts.env ?? {});
    for (const [k, v] of Object.entries(opts.overrides ?? {})) {
      loaded.config[`${PROJECT}:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    }
    result = await runProgram({
      stack,
      config: loaded.config,
      secretKeys: loaded.secretKeys,
      preview: opts.preview ?? false,
      registry: opts.registry,
      onFailure: opts.onFailure,
    });
  });
  return result!;
}

/** Kubernetes objects of a given kind among the recorded resources. */
export function ofKind(resources: RecordedResource[], kind: string): RecordedResource[] {
  return resources.filter(
    (r) => r.custom && r.type.endsWith(`:${kind}`) && r.type.startsWith("kubernetes:"),
  );
}

/** Runs a function that creates resources (a component under test) under the mock runtime. */
export async function runComponent(
  create: () => unknown,
  preview = false,
): Promise<RecordedResource[]> {
  const { runProgram } = await import("../../scripts/lib/mock-run");
  const result = await runProgram({ stack: "test", program: create, preview });
  return result.resources;
}

/** The one recorded resource of a type (and name, when given); fails the test otherwise. */
export function only(resources: RecordedResource[], type: string, name?: string): RecordedResource {
  const found = resources.filter((r) => r.type === type && (name === undefined || r.name === name));
  if (found.length !== 1) {
    throw new Error(
      `expected exactly one ${type}${name ? ` named ${name}` : ""}, found ${found.length}`,
    );
  }
  return found[0]!;
}

/**
 * Runs `create` (a component's constructor) under the mock runtime and asserts that it throws an
 * Error matching `message` and that no provider resource was registered before the throw: the
 * argument check comes before anything the engine would create.
 */
export async function expectRejectedBeforeCreating(
  create: () => unknown,
  message: RegExp,
): Promise<void> {
  let error: unknown;
  const rs = await runComponent(() => {
    try {
      create();
    } catch (e) {
      error = e;
    }
  });
  expect(error).toBeInstanceOf(Error);
  expect((error as Error).message).toMatch(message);
  expect(rs.filter((r) => r.custom).map((r) => `${r.type} ${r.name}`)).toEqual([]);
}

/**
 * The environment of a container of a recorded pod owner (`what` names it in errors), each
 * `valueFrom.secretKeyRef` resolved from the Secret the program creates under that name in the
 * owner's namespace (a pod can only read Secrets in its own namespace).
 */
export function resolvedEnv(
  resources: RecordedResource[],
  owner: RecordedResource,
  container: { env?: { name: string; value?: string; valueFrom?: any }[] },
  what: string,
): Record<string, string> {
  const namespace = (owner.inputs.metadata as any)?.namespace as string;
  const secrets = ofKind(resources, "Secret");
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (typeof e.value === "string") {
      env[e.name] = e.value;
      continue;
    }
    const ref = e.valueFrom?.secretKeyRef;
    if (!ref) throw new Error(`env ${e.name} of ${what} is neither a value nor a secretKeyRef`);
    const secret = secrets.find(
      (s) =>
        (s.state.metadata as any)?.name === ref.name &&
        (s.state.metadata as any)?.namespace === namespace,
    );
    if (!secret) {
      throw new Error(
        `env ${e.name} of ${what} refers to Secret "${ref.name}" in namespace ` +
          `"${namespace}", which the program does not create`,
      );
    }
    const data = (secret.inputs.stringData ?? {}) as Record<string, unknown>;
    const value = data[ref.key];
    if (typeof value !== "string") {
      throw new Error(
        `env ${e.name} of ${what} refers to key "${ref.key}" of Secret "${ref.name}", ` +
          `which has only the keys ${JSON.stringify(Object.keys(data))} in stringData`,
      );
    }
    env[e.name] = value;
  }
  return env;
}
