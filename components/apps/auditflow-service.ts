import * as pulumi from "@pulumi/pulumi";
import { Connection, connectionEgress, connectionEnv } from "../contracts";
import type { ResourceSizes } from "../security/namespace";
import { ServiceName, ServiceTraits } from "./catalog";
import { Peer, Workload } from "./workload";

export interface AuditFlowServiceArgs {
  /** Which of the four services this is. Required. */
  service: ServiceName;
  /** What the service is (port, health paths, dependencies), from the catalog. Required. */
  traits: ServiceTraits;
  /** Namespace to deploy into. Required. */
  namespace: pulumi.Input<string>;
  /** Image reference, exact tag or digest. Required. */
  image: string;
  /** Pod count. Required. */
  replicas: number;
  /** Container requests and limits. Required. */
  resources: ResourceSizes;
  /** Node names and/or architecture to run on. Defaults to anywhere. */
  placement?: { nodes?: readonly string[]; arch?: "arm64" | "amd64" };
  /** Extra plain (non-secret) environment variables. Defaults to none. */
  env?: Readonly<Record<string, string>>;
  /**
   * Connections to the data services the traits list in `uses`: each must be present, and no other
   * kind. Defaults to none (valid only for a service that uses no data service).
   */
  connections?: readonly Connection[];
  /** Peers of the services that call this one's API (from traits.calledBy). Defaults to none. */
  callers?: readonly Peer[];
}

/**
 * One AuditFlow service: its Workload (Deployment, Service, ServiceAccount, NetworkPolicy, PDB)
 * with connection settings from the data services' contracts and HTTP probes on its health paths.
 */
export class AuditFlowService extends pulumi.ComponentResource {
  /** In-cluster DNS name of the service's API. */
  public readonly host: pulumi.Output<string>;
  /** The service's HTTP port. */
  public readonly port: number;
  /** Peer selecting the service's pods. */
  public readonly peer: Peer;
  /** The underlying workload. */
  public readonly workload: Workload;

  constructor(name: string, args: AuditFlowServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auditflow:apps:AuditFlowService", name, {}, opts);
    const connections = args.connections ?? [];
    for (const need of args.traits.uses) {
      if (!connections.some((c) => c.kind === need)) {
        throw new Error(
          `AuditFlowService ${args.service}: connections must include a "${need}" connection (the service uses ${args.traits.uses.join(", ")})`,
        );
      }
    }
    for (const c of connections) {
      if (!args.traits.uses.includes(c.kind)) {
        throw new Error(
          `AuditFlowService ${args.service}: got a "${c.kind}" connection it does not use; allowed kinds are ${args.traits.uses.join(", ") || "none"}`,
        );
      }
    }
    const t = args.traits;
    const http = (path: string) => ({ httpGet: { path, port: "http" } });
    this.port = t.port;
    this.workload = new Workload(
      name,
      {
        namespace: args.namespace,
        identity: { name: args.service, component: t.component },
        replicas: args.replicas,
        placement: args.placement,
        containers: [
          {
            name: "app",
            image: args.image,
            ports: [{ name: "http", containerPort: t.port }],
            env: [
              { name: "SERVICE_NAME", value: args.service },
              { name: "PORT", value: String(t.port) },
              ...Object.entries(args.env ?? {}).map(([k, v]) => ({ name: k, value: v })),
              ...connections.flatMap(connectionEnv),
            ],
            resources: args.resources,
            startupProbe: {
              ...http(t.livenessPath),
              periodSeconds: 5,
              failureThreshold: Math.ceil(t.startupSeconds / 5),
            },
            livenessProbe: {
              ...http(t.livenessPath),
              periodSeconds: 10,
              timeoutSeconds: 2,
              failureThreshold: 3,
            },
            readinessProbe: {
              ...http(t.readinessPath),
              periodSeconds: 5,
              timeoutSeconds: 2,
              failureThreshold: 2,
            },
          },
        ],
        ingress: args.callers?.length ? [{ from: [...args.callers], ports: [t.port] }] : [],
        egress: connections.map(connectionEgress),
      },
      { parent: this },
    );
    this.host = this.workload.host!;
    this.peer = this.workload.peer;
    this.registerOutputs({ host: this.host });
  }
}
