/**
 * Runs the real Pulumi program under Pulumi's mock runtime and records every resource it registers
 * (type, name, parent, inputs), the way `pulumi preview` would see them, without a CLI or cluster.
 *
 * Used by the offline plan (scripts/plan.ts) and by the tests. The mocks behave like the providers
 * where the program depends on it: Kubernetes objects get the provider's auto-names, generated
 * passwords get a deterministic placeholder, and in preview mode computed values stay unknown.
 */
import { createHash } from "crypto";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { SECRET_MARKER, UNKNOWN_MARKER } from "../../shared/markers";

/** The key and value Pulumi's RPC layer marks wrapped values (secrets, resource references) with. */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** One resource as the program registered it. */
export interface RecordedResource {
  urn: string;
  type: string;
  name: string;
  /** URN of the parent resource (the stack for top-level resources). */
  parent?: string;
  /** True for provider-managed resources, false for components and the stack. */
  custom: boolean;
  /** The inputs with secrets unwrapped (what the provider would receive). */
  inputs: Record<string, unknown>;
  /** Paths (dot/bracket notation) of input values that are secret. */
  secretPaths: string[];
  /** The state the mocks returned (inputs plus computed outputs). */
  state: Record<string, unknown>;
  /** Resource options as the engine receives them in the RegisterResource request. */
  request: RegisteredOptions;
}

/** The options of a RegisterResource request that decide how the engine orders and replaces. */
export interface RegisteredOptions {
  /** URNs the resource depends on (dependsOn and the resources its inputs came from). */
  dependencies: string[];
  /** Properties the program forces replacement on (`replaceOnChanges`). */
  replaceOnChanges: string[];
  /** `deleteBeforeReplace`. */
  deleteBeforeReplace: boolean;
}

export interface RunOptions {
  /** Stack name. */
  stack: string;
  /** Pulumi project name. Defaults to "auditflow-platform". */
  project?: string;
  /** Full config map ("project:key" -> string value, structured values as JSON). Defaults to none. */
  config?: Record<string, string>;
  /** Keys of `config` that are secrets. */
  secretKeys?: string[];
  /** Run as a preview: computed values are unknown. Defaults to false. */
  preview?: boolean;
  /**
   * The program: a module path (its exports become stack outputs) or a function that creates
   * resources (for component tests). Defaults to infra/index.ts of this repository.
   */
  program?: string | (() => unknown);
  /**
   * Answers registry look-ups (`docker.getRegistryImageManifests`) with the manifests a registry
   * would list for an image. Defaults to none: offline, no registry is reachable and every look-up
   * fails, as it would on a machine without network.
   */
  registry?: (image: string) => { os: string; architecture: string }[];
  /**
   * Called with what was registered before the program failed, just before its error is rethrown
   * (tests use it to prove that bad input stops the program before any resource). Defaults to none.
   */
  onFailure?: (registered: RecordedResource[]) => void;
}

/** The registry look-up the program makes for pinned third-party images. */
export const REGISTRY_LOOKUP = "docker:index/getRegistryImageManifests:getRegistryImageManifests";

export interface RunResult {
  resources: RecordedResource[];
  /** Stack outputs with secrets replaced by SECRET_MARKER. */
  outputs: Record<string, unknown>;
}

function isSecret(v: unknown): v is { value: unknown } {
  return (
    typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG
  );
}

/**
 * Strips Pulumi's secret wrappers, noting where they were. Values unknown in preview are kept as
 * they are (so the program sees them as unknown) unless `showUnknown` replaces them with
 * UNKNOWN_MARKER.
 */
export function unwrapSecrets(
  v: unknown,
  at: string,
  found: string[],
  showUnknown = false,
): unknown {
  if (pulumi.isUnknown(v)) return showUnknown ? UNKNOWN_MARKER : v;
  if (isSecret(v)) {
    found.push(at);
    return unwrapSecrets(v.value, at, [], showUnknown);
  }
  if (Array.isArray(v)) return v.map((e, i) => unwrapSecrets(e, `${at}[${i}]`, found, showUnknown));
  if (typeof v === "object" && v !== null && !(SIG_KEY in v)) {
    return Object.fromEntries(
      Object.entries(v).map(([k, e]) => [
        k,
        unwrapSecrets(e, at ? `${at}.${k}` : k, found, showUnknown),
      ]),
    );
  }
  return v;
}

/** Replaces every secret value with SECRET_MARKER (for anything a person reads). */
export function redactSecrets(v: unknown): unknown {
  if (isSecret(v)) return SECRET_MARKER;
  if (Array.isArray(v)) return v.map(redactSecrets);
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, redactSecrets(e)]));
  }
  return v;
}

/** Kubernetes auto-name: `<name>-<8 characters>`, deterministic here so plans are reproducible. */
function autoName(urn: string, name: string): string {
  return `${name}-${createHash("sha256").update(urn).digest("hex").slice(0, 8)}`;
}

/** The URN the mock monitor gives a resource (parent URNs in requests are of this form). */
function newUrn(
  project: string,
  stack: string,
  parentUrn: string | undefined,
  type: string,
  name: string,
) {
  const parentType = parentUrn ? (parentUrn.split("::")[2] ?? "").split("$").pop() : undefined;
  return `urn:pulumi:${stack}::${project}::${parentType ? `${parentType}$${type}` : type}::${name}`;
}

/** What the mocked providers return for a resource: its inputs plus the outputs the program reads. */
function mockState(
  type: string,
  name: string,
  urn: string,
  inputs: Record<string, unknown>,
  preview: boolean,
): Record<string, unknown> {
  if (type.startsWith("kubernetes:") && !type.startsWith("kubernetes:helm")) {
    const metadata = (inputs.metadata ?? {}) as Record<string, unknown>;
    return { ...inputs, metadata: { ...metadata, name: metadata.name ?? autoName(urn, name) } };
  }
  switch (type) {
    case "random:index/randomPassword:RandomPassword":
    case "random:index/randomString:RandomString": {
      // A real password is unknown until created; the plan shows a fixed, obviously fake value.
      const length = Number(inputs.length ?? 16);
      const fake = `mock-${name}-${"x".repeat(Math.max(0, length - name.length - 6))}`;
      return { ...inputs, result: preview ? pulumi.unknown : fake };
    }
    case "random:index/randomBytes:RandomBytes": {
      const length = Number(inputs.length ?? 32);
      return {
        ...inputs,
        base64: preview ? pulumi.unknown : Buffer.alloc(length).toString("base64"),
      };
    }
    case "docker-build:index:Image":
      // The digest exists only once BuildKit has built and pushed the image: never invent one. A
      // preview leaves it unknown; a plan of the update shows the marker where the digest will be.
      return {
        ...inputs,
        digest: preview ? pulumi.unknown : UNKNOWN_MARKER,
        ref: preview ? pulumi.unknown : UNKNOWN_MARKER,
        contextHash: preview ? pulumi.unknown : UNKNOWN_MARKER,
      };
    case "docker:index/buildxBuilder:BuildxBuilder":
      return { ...inputs, name: inputs.name ?? `${name}-builder` };
    case "command:remote:Command":
    case "command:local:Command":
      return preview
        ? { ...inputs, stdout: pulumi.unknown, stderr: pulumi.unknown }
        : { ...inputs, stdout: "", stderr: "" };
    default:
      return inputs;
  }
}

/**
 * What the mocks saw: every resource registered, and the parent and options of each as the
 * program asked for them (the mock monitor does not pass those to newResource).
 */
class Recorder {
  readonly resources = new Map<string, RecordedResource>();
  readonly parents = new Map<string, string | undefined>();
  readonly requests = new Map<string, RegisteredOptions>();

  constructor(
    private readonly project: string,
    private readonly stack: string,
    private readonly preview: boolean,
  ) {}

  static key(type: string, name: string): string {
    return `${type}::${name}`;
  }

  /** The mock provider's newResource: records the resource and answers with its mock state. */
  newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
    const { type, name } = args;
    const secretPaths: string[] = [];
    const inputs = unwrapSecrets(args.inputs, "", secretPaths) as Record<string, unknown>;
    const shown = unwrapSecrets(args.inputs, "", [], true) as Record<string, unknown>;
    const parent = this.parents.get(Recorder.key(type, name));
    const urn = newUrn(this.project, this.stack, parent, type, name);
    this.resources.set(urn, {
      urn,
      type,
      name,
      parent,
      custom: args.custom ?? false,
      inputs: shown,
      secretPaths,
      state: mockState(type, name, urn, shown, this.preview),
      request: this.requests.get(Recorder.key(type, name)) ?? {
        dependencies: [],
        replaceOnChanges: [],
        deleteBeforeReplace: false,
      },
    });
    // Secrets stay secret in the returned state, as a real provider keeps them.
    const state = mockState(type, name, urn, inputs, this.preview);
    return { id: args.custom ? `${name}-id` : undefined, state: rewrapSecrets(state, args.inputs) };
  }

  /** Notes each registration's parent and options on the way to the mock monitor. */
  watch(monitor: MockMonitor): void {
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) => {
      const key = Recorder.key(req.getType(), req.getName());
      this.parents.set(key, req.getParent() || undefined);
      this.requests.set(key, {
        dependencies: req.getDependenciesList(),
        replaceOnChanges: req.getReplaceonchangesList(),
        deleteBeforeReplace: req.getDeletebeforereplace(),
      });
      return register(req, cb);
    };
  }
}

/** The part of the mock monitor Recorder.watch wraps. */
interface MockMonitor {
  registerResource(
    req: {
      getType(): string;
      getName(): string;
      getParent(): string;
      getDependenciesList(): string[];
      getReplaceonchangesList(): string[];
      getDeletebeforereplace(): boolean;
    },
    cb: unknown,
  ): unknown;
}

/**
 * The mock provider's answer to a function call: only the registry look-up is expected, answered
 * by `opts.registry` (offline when absent); any other call fails the run.
 */
function mockCall(opts: RunOptions, args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
  if (args.token !== REGISTRY_LOOKUP)
    throw new Error(
      `unexpected provider function call ${args.token}: the program must not invoke providers`,
    );
  // The runtime reports a failed invoke with the gRPC error's details, as the engine's.
  const fail = (message: string) => Object.assign(new Error(message), { details: message });
  const image = String(args.inputs.name);
  if (!opts.registry) throw fail("no registry is reachable from the offline mock runtime");
  let listed: { os: string; architecture: string }[];
  try {
    listed = opts.registry(image);
  } catch (e) {
    throw fail((e as Error).message);
  }
  const manifests = listed.map((m) => ({
    ...m,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    sha256Digest: "",
  }));
  return { id: image, name: image, manifests };
}

/**
 * Runs the program inside the Pulumi stack. A program error is caught inside the stack and
 * returned once the runtime has settled, so that it reaches the caller once (the stack would
 * otherwise also surface it as an unhandled rejection).
 */
async function runInStack(program: string | (() => unknown)): Promise<{
  outputs: Record<string, unknown>;
  exported: Record<string, unknown>;
  failure?: { error: unknown };
}> {
  let exported: Record<string, unknown> = {};
  let failure: { error: unknown } | undefined;
  const outputs = await pulumi.runtime.runInPulumiStack(async () => {
    try {
      if (typeof program === "function") {
        program();
        return {};
      }
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      exported = require(program) as Record<string, unknown>;
      return exported;
    } catch (error) {
      failure = { error };
      return {};
    }
  });
  await pulumi.runtime.disconnect();
  return { outputs: outputs ?? {}, exported, failure };
}

/** The stack outputs as a plan shows them: secret ones as SECRET_MARKER, secrets inside redacted. */
async function shownOutputs(
  outputs: Record<string, unknown>,
  exported: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const shown: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(outputs)) {
    const secret = await pulumi.isSecret(pulumi.output(exported[k]));
    shown[k] = secret ? SECRET_MARKER : redactSecrets(v);
  }
  return shown;
}

/**
 * Runs the program once under mocks and returns what it registered. Call it once per process (or per
 * jest module registry): Pulumi's runtime state is global.
 */
export async function runProgram(opts: RunOptions): Promise<RunResult> {
  // Pulumi's runtime schedules a promise-leak report on process exit the first time it creates a
  // promise: one `exit` listener per loaded copy of @pulumi/pulumi, holding that copy alive. Test
  // helpers load a fresh copy per run (jest.isolateModulesAsync), so a test file with more than ten
  // runs made Node warn "MaxListenersExceededWarning: 11 exit listeners added to [process]" and kept
  // every earlier runtime in memory. A run here has settled (disconnect) when this returns, so the
  // listeners it added are removed again.
  const exitListeners = new Set(process.listeners("exit"));
  try {
    return await runOnce(opts);
  } finally {
    for (const l of process.listeners("exit"))
      if (!exitListeners.has(l)) process.removeListener("exit", l);
  }
}

async function runOnce(opts: RunOptions): Promise<RunResult> {
  const project = opts.project ?? "auditflow-platform";
  const preview = opts.preview ?? false;
  const recorder = new Recorder(project, opts.stack, preview);
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => recorder.newResource(args),
      call: (args) => mockCall(opts, args),
    },
    project,
    opts.stack,
    preview,
  );
  recorder.watch(pulumi.runtime.getMonitor() as unknown as MockMonitor);
  pulumi.runtime.setAllConfig(opts.config ?? {}, opts.secretKeys ?? []);
  const { outputs, exported, failure } = await runInStack(
    opts.program ?? path.resolve(__dirname, "../../infra/index.ts"),
  );
  if (failure) {
    opts.onFailure?.([...recorder.resources.values()]);
    throw failure.error;
  }
  return {
    resources: [...recorder.resources.values()],
    outputs: await shownOutputs(outputs, exported),
  };
}

/** Puts secret wrappers back on the values that were secret in the inputs. */
function rewrapSecrets(
  state: Record<string, unknown>,
  wrappedInputs: unknown,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...state };
  if (typeof wrappedInputs === "object" && wrappedInputs !== null) {
    for (const [k, v] of Object.entries(wrappedInputs)) {
      if (isSecret(v)) out[k] = v;
    }
  }
  return out;
}
