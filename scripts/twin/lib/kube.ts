/**
 * A small Kubernetes API client for the twin: bearer-token requests over TLS to the twin's own API
 * server (loopback only), server-side apply, and watches. Nothing else is needed, so no client
 * library is pulled in for it.
 */
import * as https from "https";

/** Any Kubernetes object, read loosely. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = Record<string, any>;

/** An API answer other than 2xx: carries the server's own status message. */
export class ApiError extends Error {
  constructor(
    public readonly code: number,
    public readonly status: Obj | undefined,
    what: string,
  ) {
    super(`${what}: ${status?.message ?? `HTTP ${code}`}`);
  }
}

export interface KubeOptions {
  /** https://127.0.0.1:PORT */
  server: string;
  token: string;
  /** PEM of the CA that signed the API server's certificate. */
  ca: string;
}

/** Plural resource names of the kinds the twin handles by path (the API server's own names). */
export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
}

export class Kube {
  private readonly agent: https.Agent;
  private readonly discovery = new Map<string, Map<string, ResourceRef>>();

  constructor(private readonly opts: KubeOptions) {
    this.agent = new https.Agent({ ca: opts.ca, keepAlive: true, maxSockets: 32 });
  }

  close(): void {
    this.agent.destroy();
  }

  /** Sends one request; resolves the parsed body, rejects with ApiError on a non-2xx answer. */
  request(
    method: string,
    path: string,
    body?: unknown,
    contentType = "application/json",
  ): Promise<Obj> {
    const url = new URL(path, this.opts.server);
    const payload =
      body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        url,
        {
          method,
          agent: this.agent,
          headers: {
            Authorization: `Bearer ${this.opts.token}`,
            Accept: "application/json",
            ...(payload === undefined ? {} : { "Content-Type": contentType }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: Obj | undefined;
            try {
              parsed = text ? (JSON.parse(text) as Obj) : {};
            } catch {
              parsed = { message: text.trim() };
            }
            const code = res.statusCode ?? 0;
            if (code >= 200 && code < 300) resolve(parsed ?? {});
            else reject(new ApiError(code, parsed, `${method} ${url.pathname}`));
          });
        },
      );
      req.on("error", reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  get(path: string): Promise<Obj> {
    return this.request("GET", path);
  }

  /** GET that resolves undefined on 404. */
  async find(path: string): Promise<Obj | undefined> {
    try {
      return await this.get(path);
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) return undefined;
      throw e;
    }
  }

  /** The resource of an apiVersion/kind as the API server serves it, or undefined when it does not. */
  async resourceFor(
    apiVersion: string,
    kind: string,
    refresh = false,
  ): Promise<ResourceRef | undefined> {
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
    if (refresh) this.discovery.delete(apiVersion);
    let kinds = this.discovery.get(apiVersion);
    if (!kinds) {
      const path = group ? `/apis/${group}/${version}` : `/api/${version}`;
      const list = await this.find(path);
      kinds = new Map();
      for (const r of (list?.resources ?? []) as Obj[]) {
        if (String(r.name).includes("/")) continue;
        kinds.set(r.kind, {
          group: group ?? "",
          version: version ?? "",
          plural: r.name,
          namespaced: r.namespaced,
        });
      }
      if (list) this.discovery.set(apiVersion, kinds);
    }
    return kinds.get(kind);
  }

  /** The path of a resource collection (namespace undefined for all namespaces). */
  static collection(ref: ResourceRef, namespace?: string): string {
    const base = ref.group ? `/apis/${ref.group}/${ref.version}` : `/api/${ref.version}`;
    return ref.namespaced && namespace
      ? `${base}/namespaces/${namespace}/${ref.plural}`
      : `${base}/${ref.plural}`;
  }

  /** Server-side apply of one object under the given field manager (force: it owns what it sends). */
  async apply(obj: Obj, fieldManager: string): Promise<Obj> {
    const ref = await this.resourceFor(String(obj.apiVersion), String(obj.kind));
    if (!ref) {
      throw new ApiError(
        404,
        {
          message: `the API server serves no ${obj.kind} in ${obj.apiVersion}: no installed CustomResourceDefinition or built-in API defines kind ${obj.kind}`,
        },
        `apply ${obj.kind} ${obj.metadata?.name}`,
      );
    }
    const path = `${Kube.collection(ref, obj.metadata?.namespace)}/${obj.metadata?.name}`;
    const q = `?fieldManager=${encodeURIComponent(fieldManager)}&force=true`;
    return this.request("PATCH", path + q, obj, "application/apply-patch+yaml");
  }

  /**
   * Watches a collection from `resourceVersion` and calls `onEvent` for every event until `stop`
   * is called. Reconnects when the server ends the stream.
   */
  watch(path: string, onEvent: (type: string, obj: Obj) => void): { stop: () => void } {
    let stopped = false;
    let current: ReturnType<typeof https.request> | undefined;
    let rv = "";
    const connect = async () => {
      if (stopped) return;
      if (!rv) {
        const list = await this.get(path);
        rv = String(list.metadata?.resourceVersion ?? "");
        for (const item of (list.items ?? []) as Obj[]) onEvent("ADDED", item);
      }
      const url = new URL(
        `${path}${path.includes("?") ? "&" : "?"}watch=1&allowWatchBookmarks=true&resourceVersion=${rv}`,
        this.opts.server,
      );
      current = https.request(
        url,
        { agent: false, ca: this.opts.ca, headers: { Authorization: `Bearer ${this.opts.token}` } },
        (res) => {
          let buf = "";
          res.on("data", (c: Buffer) => {
            buf += c.toString("utf8");
            let nl: number;
            while ((nl = buf.indexOf("\n")) >= 0) {
              const line = buf.slice(0, nl);
              buf = buf.slice(nl + 1);
              if (!line.trim()) continue;
              const ev = JSON.parse(line) as { type: string; object: Obj };
              if (ev.object?.metadata?.resourceVersion) rv = ev.object.metadata.resourceVersion;
              if (ev.type === "ERROR") rv = "";
              else if (ev.type !== "BOOKMARK") onEvent(ev.type, ev.object);
            }
          });
          res.on("end", () => void connect().catch(() => undefined));
        },
      );
      current.on("error", () => undefined);
      current.end();
    };
    void connect().catch(() => undefined);
    return {
      stop: () => {
        stopped = true;
        current?.destroy();
      },
    };
  }
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls `probe` every `everyMs` until it returns a value other than undefined, or rejects with
 * `what` after `timeoutMs`.
 */
export async function until<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  what: () => string,
  everyMs = 150,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s: ${what()}`);
    await sleep(everyMs);
  }
}
