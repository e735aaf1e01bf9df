/**
 * Runs the whole program for a stack under the mock runtime, in a fresh module registry so that a
 * test file can run several stacks and modes one after another.
 */
import type { RecordedResource, RunResult } from "../../scripts/lib/mock-run";

export type { RecordedResource };

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
