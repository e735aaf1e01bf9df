import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { bytesPattern, cpuMillis, cpuPattern, bytes } from "../lib/quantity";
import { AppIdentity, recommendedLabels, selectorLabels } from "../lib/labels";
import { parseImage, imageVersion } from "../lib/image";
import { dns1123LabelPattern } from "../lib/formats";
import type { ResourceSizes } from "../security/namespace";

type Probe = k8s.types.input.core.v1.Probe;

/** One container of a workload. Every container is given the same hardened security context. */
export interface ContainerSpec {
  /** Container name (DNS-1123 label). Required. */
  name: string;
  /**
   * Image reference with an exact tag or digest (`latest` is refused), or the digest reference of an
   * image the program builds (an Output, checked by the build). Required.
   */
  image: pulumi.Input<string>;
  /** Entrypoint override. Defaults to the image's entrypoint. */
  command?: string[];
  /** Arguments. Defaults to the image's arguments. */
  args?: pulumi.Input<string>[];
  /** Environment variables (use `valueFrom.secretKeyRef` for secrets). Defaults to none. */
  env?: pulumi.Input<k8s.types.input.core.v1.EnvVar>[];
  /** Ports the container listens on; named so probes and Services refer to names. Defaults to none. */
  ports?: { name: string; containerPort: number; protocol?: "TCP" | "UDP" }[];
  /** CPU and memory requests and limits. Required. */
  resources: ResourceSizes;
  /** Liveness probe. Required for long-running containers (not for Job containers). */
  livenessProbe?: Probe;
  /** Readiness probe. Required for long-running containers (not for Job containers). */
  readinessProbe?: Probe;
  /** Startup probe for slow starters; liveness waits until it passes. Defaults to none. */
  startupProbe?: Probe;
  /** Extra volume mounts (ConfigMaps, Secrets, the persistent volume). Defaults to none. */
  volumeMounts?: k8s.types.input.core.v1.VolumeMount[];
  /**
   * Directories the container may write to. The root filesystem is read-only, so each gets an
   * emptyDir. Defaults to `/tmp` only.
   */
  writablePaths?: { name: string; mountPath: string; sizeLimit?: string; medium?: "Memory" }[];
  /** UID for this container when it differs from the pod's. Defaults to the pod's runAsUser. */
  runAsUser?: number;
  /**
   * Seconds the container waits in a preStop sleep (the kubelet's own sleep action, no binary
   * needed) before it gets SIGTERM, so that endpoints, kube-proxy and the ingress stop sending it
   * new requests first. The sleep counts against the pod's terminationGracePeriodSeconds, which
   * must be longer. Defaults to none.
   */
  preStopSleepSeconds?: number;
  /**
   * Run this container as root (UID 0), still without capabilities or privilege escalation: only
   * for agents that must read root-owned host files. The workload must then list `run-as-non-root`
   * in its `exemptions`. Defaults to false.
   */
  runAsRoot?: boolean;
}

/** An init container: runs to completion before the others start, so it has no probes. */
export type InitContainerSpec = Omit<
  ContainerSpec,
  "livenessProbe" | "readinessProbe" | "startupProbe" | "preStopSleepSeconds"
>;

/**
 * A set of pods a NetworkPolicy rule admits: pods with `podLabels` in `namespace`, any pod in
 * `namespace` (no podLabels), or addresses in `cidr`. Without namespace it means this namespace.
 */
export interface Peer {
  podLabels?: Record<string, string>;
  namespace?: pulumi.Input<string>;
  cidr?: string;
}

/** Who may connect to the workload, on which container ports. */
export interface IngressRule {
  from: Peer[];
  ports: number[];
}

/** Where the workload may connect to, on which ports (DNS is allowed namespace-wide already). */
export interface EgressRule {
  to: Peer[];
  ports: number[];
}

/** HorizontalPodAutoscaler settings of a Deployment (autoscaling/v2). */
export interface Autoscaling {
  /** Fewest pods. Required (>= 1). */
  minReplicas: number;
  /** Most pods. Required (>= minReplicas). */
  maxReplicas: number;
  /** Target average CPU utilization, percent of the CPU request. Defaults to none. */
  cpuUtilization?: number;
  /** Target average memory utilization, percent of the memory request. Defaults to none. */
  memoryUtilization?: number;
  /** Seconds of lower recommendations before scaling down. Defaults to 300 (Kubernetes' own). */
  scaleDownStabilizationSeconds?: number;
}

/** The most pods a workload can run outside a rollout: the HPA's maximum, else its replicas. */
export function peakReplicas(args: Pick<WorkloadArgs, "replicas" | "autoscaling">): number {
  return args.autoscaling?.maxReplicas ?? args.replicas ?? 1;
}

export interface WorkloadArgs {
  /** Namespace of every object. Required. */
  namespace: pulumi.Input<string>;
  /** Recommended-label identity; `name` also names the Service. Required. */
  identity: AppIdentity;
  /**
   * Deployment for stateless services, StatefulSet for stateful ones, Job for run-to-completion
   * tasks (migrations). Defaults to "Deployment".
   */
  kind?: "Deployment" | "StatefulSet" | "Job" | "DaemonSet";
  /** Job settings (kind Job only). Defaults to backoffLimit 2, ttlSecondsAfterFinished 86400. */
  job?: { backoffLimit?: number; ttlSecondsAfterFinished?: number; activeDeadlineSeconds?: number };
  /**
   * Number of pods; > 1 adds a PodDisruptionBudget and spreading across nodes. Required unless
   * `autoscaling` is set, and not allowed with it (the HorizontalPodAutoscaler owns the count).
   */
  replicas?: number;
  /**
   * Scale a Deployment with an autoscaling/v2 HorizontalPodAutoscaler between `minReplicas` and
   * `maxReplicas` on CPU and/or memory utilization (percent of the requests). The Deployment then
   * leaves `spec.replicas` out, so Pulumi's server-side apply never owns or resets the count; the
   * PodDisruptionBudget and spreading follow `maxReplicas`. Defaults to none (fixed `replicas`).
   */
  autoscaling?: Autoscaling;
  /** Containers; the first is the main one (its ports make the Service). Required. */
  containers: ContainerSpec[];
  /** Init containers, hardened like the others. Defaults to none. */
  initContainers?: InitContainerSpec[];
  /** Extra pod volumes (ConfigMaps, Secrets). Defaults to none. */
  volumes?: pulumi.Input<k8s.types.input.core.v1.Volume>[];
  /**
   * Persistent volume per pod (StatefulSet only), mounted in the main container. Defaults to none.
   */
  persistentVolume?: { name: string; mountPath: string; size: string; storageClass?: string };
  /** Pod identity: UID, GID and fsGroup (all non-zero). Defaults to 10001 for each. */
  podSecurity?: { runAsUser?: number; runAsGroup?: number; fsGroup?: number };
  /**
   * Mount a ServiceAccount token: only for workloads that talk to the Kubernetes API (it also labels
   * the pods so the namespace's API-server egress policy applies). Defaults to false.
   */
  automountServiceAccountToken?: boolean;
  /** Who may connect to the workload's ports. Defaults to nobody. */
  ingress?: IngressRule[];
  /** What the workload may connect to besides DNS. Defaults to nothing. */
  egress?: EgressRule[];
  /** Pin pods to named nodes and/or a CPU architecture. Defaults to anywhere. */
  placement?: { nodes?: readonly string[]; arch?: "arm64" | "amd64" };
  /** Annotations on the pod template (for example Prometheus scrape hints). Defaults to none. */
  podAnnotations?: Record<string, pulumi.Input<string>>;
  /**
   * Resources the Deployment, StatefulSet or Job waits for (its `dependsOn`), e.g. the migration
   * Job a Deployment's new version needs, or the backup a migration needs. Defaults to none.
   */
  dependsOn?: pulumi.Resource[];
  /** Seconds the pods get to shut down. Defaults to 30. */
  terminationGracePeriodSeconds?: number;
  /**
   * Seconds a Deployment rollout may go without progress before Kubernetes marks it failed
   * (ProgressDeadlineExceeded), which fails `pulumi up`. Defaults to Kubernetes' 600.
   */
  progressDeadlineSeconds?: number;
  /** StatefulSet pod management: Parallel for clustered peers. Defaults to "OrderedReady". */
  podManagementPolicy?: "OrderedReady" | "Parallel";
  /** Whether to create a Service for the main container's ports. Defaults to true when it has ports. */
  service?: boolean;
  /**
   * Host access for node agents (DaemonSets): the host's network and PID namespaces and host
   * directories mounted in the main container. Every use must be named in `exemptions`.
   * Defaults to none.
   */
  host?: {
    network?: boolean;
    pid?: boolean;
    paths?: {
      name: string;
      path: string;
      mountPath: string;
      readOnly: boolean;
      type?: "Directory" | "DirectoryOrCreate" | "File";
    }[];
  };
  /**
   * Policies of the pack this workload is exempt from, with the reason (annotations
   * policy.auditflow.dev/exempt and exempt-reason on the workload object). Defaults to none.
   */
  exemptions?: { policies: string[]; reason: string };
}

/**
 * A workload that is compliant by construction: requests and limits, probes, non-root read-only
 * containers with all capabilities dropped and seccomp RuntimeDefault, its own ServiceAccount
 * without a token, a Service, a NetworkPolicy that admits exactly the declared peers, and, when
 * replicated, a PodDisruptionBudget, spreading across nodes and rolling updates that keep capacity.
 */
export class Workload extends pulumi.ComponentResource {
  /** Stable Service name (clients use it in DNS). Undefined when the workload has no Service. */
  public readonly serviceName?: pulumi.Output<string>;
  /** In-cluster DNS name of the Service. */
  public readonly host?: pulumi.Output<string>;
  /** Name of the workload's ServiceAccount. */
  public readonly serviceAccountName: pulumi.Output<string>;
  /** Labels that select the workload's pods. */
  public readonly selector: Record<string, string>;
  /** A peer that matches the workload's pods, for other workloads' NetworkPolicies. */
  public readonly peer: Peer;
  /** The Deployment or StatefulSet, for `dependsOn`. */
  public readonly workload:
    k8s.apps.v1.Deployment | k8s.apps.v1.StatefulSet | k8s.batch.v1.Job | k8s.apps.v1.DaemonSet;

  constructor(name: string, args: WorkloadArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auditflow:apps:Workload", name, {}, opts);
    validateWorkload(name, args);
    const kind = args.kind ?? "Deployment";
    const main = args.containers[0]!;
    const identity: AppIdentity = {
      ...args.identity,
      version:
        args.identity.version ??
        (typeof main.image === "string" ? imageVersion(main.image) : undefined),
    };
    const labels = recommendedLabels(identity);
    this.selector = selectorLabels(identity);
    this.peer = { podLabels: this.selector, namespace: args.namespace };
    const podLabels = {
      ...labels,
      ...(args.automountServiceAccountToken ? { "auditflow.dev/api-access": "true" } : {}),
    };
    const metadata = { namespace: args.namespace, labels };
    const sa = new k8s.core.v1.ServiceAccount(
      name,
      {
        // The API-access label says why this account mounts a token (the policy pack reads it).
        metadata: { ...metadata, labels: podLabels },
        automountServiceAccountToken: args.automountServiceAccountToken ?? false,
      },
      { parent: this },
    );
    this.serviceAccountName = sa.metadata.name;
    const parts: WorkloadParts = {
      name,
      args,
      metadata,
      // Only the workload object carries the exemption: that is what the policies check.
      workloadMetadata: {
        ...metadata,
        annotations: args.exemptions && {
          "policy.auditflow.dev/exempt": args.exemptions.policies.join(","),
          "policy.auditflow.dev/exempt-reason": args.exemptions.reason,
        },
      },
      selector: this.selector,
      servicePorts: (main.ports ?? []).map((p) => ({
        name: p.name,
        port: p.containerPort,
        targetPort: p.name,
        protocol: p.protocol ?? "TCP",
      })),
      template: {
        metadata: { labels: podLabels, annotations: args.podAnnotations },
        spec: podSpec(args, kind, sa.metadata.name, this.selector),
      },
      parent: this,
    };

    const wantsService = args.service ?? parts.servicePorts.length > 0;
    const serviceName =
      kind !== "Job" && wantsService && parts.servicePorts.length > 0
        ? clusterService(parts)
        : undefined;
    this.workload = buildKind[kind](parts);
    networkPolicy(parts);
    if (peakReplicas(args) > 1 && kind !== "Job") disruptionBudget(parts);

    this.serviceName = serviceName;
    this.host =
      serviceName && pulumi.interpolate`${serviceName}.${args.namespace}.svc.cluster.local`;
    this.registerOutputs({
      serviceName: this.serviceName,
      host: this.host,
      serviceAccountName: this.serviceAccountName,
    });
  }
}

/** What the builders of a workload's objects share. */
interface WorkloadParts {
  name: string;
  args: WorkloadArgs;
  metadata: { namespace: pulumi.Input<string>; labels: Record<string, string> };
  /** The metadata of the workload object itself: labels plus any exemption annotations. */
  workloadMetadata: {
    namespace: pulumi.Input<string>;
    labels: Record<string, string>;
    annotations?: Record<string, string>;
  };
  selector: Record<string, string>;
  /** The main container's ports as Service ports (targetPort by name). */
  servicePorts: k8s.types.input.core.v1.ServicePort[];
  template: k8s.types.input.core.v1.PodTemplateSpec;
  parent: pulumi.Resource;
}

/** The pod spec: the hardened pod of compliantPodSpec plus placement and spreading. */
function podSpec(
  args: WorkloadArgs,
  kind: NonNullable<WorkloadArgs["kind"]>,
  serviceAccountName: pulumi.Input<string>,
  selector: Record<string, string>,
): k8s.types.input.core.v1.PodSpec {
  return {
    ...compliantPodSpec({
      serviceAccountName,
      automountServiceAccountToken: args.automountServiceAccountToken,
      terminationGracePeriodSeconds: args.terminationGracePeriodSeconds ?? 30,
      runAsUser: args.podSecurity?.runAsUser,
      runAsGroup: args.podSecurity?.runAsGroup,
      fsGroup: args.podSecurity?.fsGroup,
      restartPolicy: kind === "Job" ? "Never" : undefined,
      initContainers: args.initContainers,
      containers: args.containers,
      // The persistent volume and the host paths are mounted in the main container.
      mainContainerMounts: [
        ...(args.persistentVolume
          ? [{ name: args.persistentVolume.name, mountPath: args.persistentVolume.mountPath }]
          : []),
        ...(args.host?.paths ?? []).map((h) => ({
          name: h.name,
          mountPath: h.mountPath,
          readOnly: h.readOnly,
        })),
      ],
      volumes: [
        ...(args.volumes ?? []),
        ...(args.host?.paths ?? []).map((h) => ({
          name: h.name,
          hostPath: { path: h.path, type: h.type ?? "Directory" },
        })),
      ],
    }),
    ...placement(args, selector),
    ...(args.host?.network ? { hostNetwork: true, dnsPolicy: "ClusterFirstWithHostNet" } : {}),
    ...(args.host?.pid ? { hostPID: true } : {}),
    // A node agent runs on every node, tainted or not.
    ...(kind === "DaemonSet" ? { tolerations: [{ operator: "Exists" }] } : {}),
  };
}

/** The ClusterIP Service of the main container's ports; returns its name. */
function clusterService(w: WorkloadParts): pulumi.Output<string> {
  // The Service name is set explicitly: clients reach it by this DNS name.
  const svc = new k8s.core.v1.Service(
    w.name,
    {
      metadata: { ...w.metadata, name: w.args.identity.instance ?? w.args.identity.name },
      spec: { type: "ClusterIP", selector: w.selector, ports: w.servicePorts },
    },
    { parent: w.parent },
  );
  return svc.metadata.name;
}

/**
 * Stateless pods, rolled out one extra pod at a time so capacity never drops. An autoscaled
 * Deployment gets a stable name (its HorizontalPodAutoscaler refers to it) and no spec.replicas.
 */
function deployment(w: WorkloadParts): k8s.apps.v1.Deployment {
  const { args } = w;
  const d = new k8s.apps.v1.Deployment(
    w.name,
    {
      metadata: args.autoscaling
        ? { ...w.workloadMetadata, name: args.identity.instance ?? args.identity.name }
        : w.workloadMetadata,
      spec: {
        replicas: args.autoscaling ? undefined : args.replicas,
        progressDeadlineSeconds: args.progressDeadlineSeconds,
        revisionHistoryLimit: 5,
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        selector: { matchLabels: w.selector },
        template: w.template,
      },
    },
    { parent: w.parent, dependsOn: args.dependsOn },
  );
  if (args.autoscaling) autoscaler(w, d, args.autoscaling);
  return d;
}

/** The autoscaling/v2 HorizontalPodAutoscaler of an autoscaled Deployment. */
function autoscaler(
  w: WorkloadParts,
  target: k8s.apps.v1.Deployment,
  a: Autoscaling,
): k8s.autoscaling.v2.HorizontalPodAutoscaler {
  const metric = (resource: "cpu" | "memory", percent: number | undefined) =>
    percent === undefined
      ? []
      : [
          {
            type: "Resource",
            resource: {
              name: resource,
              target: { type: "Utilization", averageUtilization: percent },
            },
          },
        ];
  return new k8s.autoscaling.v2.HorizontalPodAutoscaler(
    w.name,
    {
      metadata: w.metadata,
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: target.metadata.name },
        minReplicas: a.minReplicas,
        maxReplicas: a.maxReplicas,
        metrics: [...metric("cpu", a.cpuUtilization), ...metric("memory", a.memoryUtilization)],
        behavior: {
          scaleDown: { stabilizationWindowSeconds: a.scaleDownStabilizationSeconds ?? 300 },
        },
      },
    },
    { parent: w.parent },
  );
}

/** Stateful pods with stable names (a headless Service) and, optionally, a volume each. */
function statefulSet(w: WorkloadParts): k8s.apps.v1.StatefulSet {
  const { args } = w;
  // The governing headless Service gives each pod a stable DNS name (peer discovery, replicas).
  const headless = new k8s.core.v1.Service(
    `${w.name}-headless`,
    {
      metadata: {
        ...w.metadata,
        name: `${args.identity.instance ?? args.identity.name}-headless`,
      },
      spec: {
        clusterIP: "None",
        publishNotReadyAddresses: true,
        selector: w.selector,
        ports: w.servicePorts,
      },
    },
    { parent: w.parent },
  );
  const pv = args.persistentVolume;
  return new k8s.apps.v1.StatefulSet(
    w.name,
    {
      metadata: w.workloadMetadata,
      spec: {
        replicas: args.replicas,
        serviceName: headless.metadata.name,
        podManagementPolicy: args.podManagementPolicy ?? "OrderedReady",
        updateStrategy: { type: "RollingUpdate" },
        revisionHistoryLimit: 5,
        selector: { matchLabels: w.selector },
        template: w.template,
        persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
        volumeClaimTemplates: pv
          ? [
              {
                metadata: { name: pv.name, labels: w.metadata.labels },
                spec: {
                  accessModes: ["ReadWriteOnce"],
                  storageClassName: pv.storageClass,
                  resources: { requests: { storage: pv.size } },
                },
              },
            ]
          : undefined,
      },
    },
    { parent: w.parent, dependsOn: args.dependsOn },
  );
}

/** One pod run to completion (a migration). */
function job(w: WorkloadParts): k8s.batch.v1.Job {
  // Pulumi waits for the Job to complete, so whatever depends on it (a Deployment whose schema
  // it migrates) rolls out only after it succeeded. The provider gives up after 10 minutes by
  // default; with a deadline, it waits a minute longer than Kubernetes, so that a slow Job is
  // not abandoned while it still runs and a failed one is reported with Kubernetes' reason.
  const deadline = w.args.job?.activeDeadlineSeconds;
  const wait = deadline === undefined ? undefined : `${deadline + 60}s`;
  return new k8s.batch.v1.Job(
    w.name,
    {
      metadata: w.workloadMetadata,
      spec: {
        backoffLimit: w.args.job?.backoffLimit ?? 2,
        ttlSecondsAfterFinished: w.args.job?.ttlSecondsAfterFinished ?? 86400,
        activeDeadlineSeconds: deadline,
        template: w.template,
      },
    },
    {
      parent: w.parent,
      dependsOn: w.args.dependsOn,
      customTimeouts: wait ? { create: wait, update: wait } : undefined,
    },
  );
}

/** One pod on every node (node agents), replaced one node at a time. */
function daemonSet(w: WorkloadParts): k8s.apps.v1.DaemonSet {
  return new k8s.apps.v1.DaemonSet(
    w.name,
    {
      metadata: w.workloadMetadata,
      spec: {
        revisionHistoryLimit: 5,
        updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
        selector: { matchLabels: w.selector },
        template: w.template,
      },
    },
    { parent: w.parent },
  );
}

/** The builder of each kind's workload object. */
const buildKind = {
  Deployment: deployment,
  StatefulSet: statefulSet,
  Job: job,
  DaemonSet: daemonSet,
} as const;

/** Admits exactly the declared callers and allows exactly the declared egress. */
function networkPolicy(w: WorkloadParts): k8s.networking.v1.NetworkPolicy {
  const tcp = (ports: number[]) => ports.map((port) => ({ protocol: "TCP", port }));
  return new k8s.networking.v1.NetworkPolicy(
    w.name,
    {
      metadata: w.metadata,
      spec: {
        podSelector: { matchLabels: w.selector },
        policyTypes: ["Ingress", "Egress"],
        ingress: (w.args.ingress ?? []).map((r) => ({
          from: r.from.map(peerSelector),
          ports: tcp(r.ports),
        })),
        egress: (w.args.egress ?? []).map((r) => ({
          to: r.to.map(peerSelector),
          ports: tcp(r.ports),
        })),
      },
    },
    { parent: w.parent },
  );
}

/** Lets a node drain evict one pod at a time. */
function disruptionBudget(w: WorkloadParts): k8s.policy.v1.PodDisruptionBudget {
  return new k8s.policy.v1.PodDisruptionBudget(
    w.name,
    { metadata: w.metadata, spec: { maxUnavailable: 1, selector: { matchLabels: w.selector } } },
    { parent: w.parent },
  );
}

/** Applies the hardened security context and mounts the container's writable paths. */
function hardenedContainer(
  c: InitContainerSpec &
    Partial<
      Pick<
        ContainerSpec,
        "livenessProbe" | "readinessProbe" | "startupProbe" | "preStopSleepSeconds"
      >
    >,
  extraMounts: k8s.types.input.core.v1.VolumeMount[] = [],
): k8s.types.input.core.v1.Container {
  return {
    name: c.name,
    image: c.image,
    imagePullPolicy: "IfNotPresent",
    command: c.command,
    args: c.args,
    env: c.env,
    ports: c.ports?.map((p) => ({
      name: p.name,
      containerPort: p.containerPort,
      protocol: p.protocol ?? "TCP",
    })),
    resources: {
      requests: { cpu: c.resources.requests.cpu, memory: c.resources.requests.memory },
      limits: { cpu: c.resources.limits.cpu, memory: c.resources.limits.memory },
    },
    livenessProbe: c.livenessProbe,
    readinessProbe: c.readinessProbe,
    startupProbe: c.startupProbe,
    lifecycle:
      c.preStopSleepSeconds === undefined
        ? undefined
        : { preStop: { sleep: { seconds: c.preStopSleepSeconds } } },
    securityContext: {
      runAsNonRoot: !c.runAsRoot,
      runAsUser: c.runAsRoot ? 0 : c.runAsUser,
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    },
    volumeMounts: [
      ...writablePaths(c).map((w) => ({ name: w.name, mountPath: w.mountPath })),
      ...extraMounts,
      ...(c.volumeMounts ?? []),
    ],
  };
}

/** Pod-level inputs of a hardened pod spec. */
export interface CompliantPodInput {
  serviceAccountName: pulumi.Input<string>;
  /** Mount the ServiceAccount token (only for pods that use the API). Defaults to false. */
  automountServiceAccountToken?: boolean;
  /** Non-zero UID. Defaults to 10001. */
  runAsUser?: number;
  /** Non-zero GID. Defaults to runAsUser. */
  runAsGroup?: number;
  /** Non-zero fsGroup. Defaults to runAsUser. */
  fsGroup?: number;
  terminationGracePeriodSeconds?: number;
  restartPolicy?: "Always" | "OnFailure" | "Never";
  initContainers?: InitContainerSpec[];
  containers: (InitContainerSpec &
    Partial<
      Pick<
        ContainerSpec,
        "livenessProbe" | "readinessProbe" | "startupProbe" | "preStopSleepSeconds"
      >
    >)[];
  /** Extra mounts of the first container (a StatefulSet's volume). Defaults to none. */
  mainContainerMounts?: k8s.types.input.core.v1.VolumeMount[];
  volumes?: pulumi.Input<k8s.types.input.core.v1.Volume>[];
}

/**
 * The hardened pod spec every workload gets: non-root identity, seccomp RuntimeDefault, no token
 * unless asked, hardened containers with their writable emptyDirs. Workload builds its pods with it,
 * and so do CronJob templates.
 */
export function compliantPodSpec(p: CompliantPodInput): k8s.types.input.core.v1.PodSpec {
  const uid = p.runAsUser ?? 10001;
  if (!Number.isInteger(uid) || uid < 1)
    throw new Error(`runAsUser must be a non-zero UID (got ${uid})`);
  return {
    serviceAccountName: p.serviceAccountName,
    automountServiceAccountToken: p.automountServiceAccountToken ?? false,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: p.terminationGracePeriodSeconds,
    restartPolicy: p.restartPolicy,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: uid,
      runAsGroup: p.runAsGroup ?? uid,
      fsGroup: p.fsGroup ?? uid,
      fsGroupChangePolicy: "OnRootMismatch",
      seccompProfile: { type: "RuntimeDefault" },
    },
    initContainers: p.initContainers?.map((c) => hardenedContainer(c)),
    containers: p.containers.map((c, i) =>
      hardenedContainer(c, i === 0 ? (p.mainContainerMounts ?? []) : []),
    ),
    volumes: [
      ...writableVolumes([...p.containers, ...(p.initContainers ?? [])]),
      ...(p.volumes ?? []),
    ],
  };
}

function writablePaths(c: InitContainerSpec): NonNullable<ContainerSpec["writablePaths"]> {
  return c.writablePaths ?? [{ name: "tmp", mountPath: "/tmp" }];
}

/** One emptyDir per distinct writable path name across the pod's containers. */
function writableVolumes(containers: InitContainerSpec[]): k8s.types.input.core.v1.Volume[] {
  const byName = new Map<string, k8s.types.input.core.v1.Volume>();
  for (const c of containers) {
    for (const w of writablePaths(c)) {
      if (!byName.has(w.name)) {
        byName.set(w.name, {
          name: w.name,
          emptyDir: { sizeLimit: w.sizeLimit ?? "64Mi", medium: w.medium },
        });
      }
    }
  }
  return [...byName.values()];
}

function placement(
  args: WorkloadArgs,
  selector: Record<string, string>,
): Pick<
  k8s.types.input.core.v1.PodSpec,
  "nodeSelector" | "affinity" | "topologySpreadConstraints"
> {
  const nodes = args.placement?.nodes;
  const nodeAffinity = nodes?.length
    ? {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            {
              matchExpressions: [
                { key: "kubernetes.io/hostname", operator: "In", values: [...nodes] },
              ],
            },
          ],
        },
      }
    : undefined;
  const replicated = peakReplicas(args) > 1;
  return {
    nodeSelector: args.placement?.arch ? { "kubernetes.io/arch": args.placement.arch } : undefined,
    affinity:
      nodeAffinity || replicated
        ? {
            nodeAffinity,
            podAntiAffinity: replicated
              ? {
                  preferredDuringSchedulingIgnoredDuringExecution: [
                    {
                      weight: 100,
                      podAffinityTerm: {
                        topologyKey: "kubernetes.io/hostname",
                        labelSelector: { matchLabels: selector },
                      },
                    },
                  ],
                }
              : undefined,
          }
        : undefined,
    // Soft spreading: a small cluster with fewer nodes than replicas must still schedule them all.
    topologySpreadConstraints: replicated
      ? [
          {
            maxSkew: 1,
            topologyKey: "kubernetes.io/hostname",
            whenUnsatisfiable: "ScheduleAnyway",
            labelSelector: { matchLabels: selector },
          },
        ]
      : undefined,
  };
}

function peerSelector(p: Peer): k8s.types.input.networking.v1.NetworkPolicyPeer {
  if (p.cidr) return { ipBlock: { cidr: p.cidr } };
  return {
    podSelector: p.podLabels ? { matchLabels: p.podLabels } : p.namespace ? {} : undefined,
    namespaceSelector: p.namespace
      ? { matchLabels: { "kubernetes.io/metadata.name": p.namespace } }
      : undefined,
  };
}

/** Checks the spec before anything is created; every message names the argument and what is allowed. */
export function validateWorkload(name: string, args: WorkloadArgs): void {
  const fail = (msg: string): never => {
    throw new Error(`Workload ${name}: ${msg}`);
  };
  validateScaling(args, fail);
  if (args.containers.length === 0) fail("containers must list at least one container");
  if (args.persistentVolume && (args.kind ?? "Deployment") !== "StatefulSet") {
    fail("persistentVolume is only allowed with kind StatefulSet");
  }
  if (args.persistentVolume && !bytesPattern.test(args.persistentVolume.size)) {
    fail(
      `persistentVolume.size "${args.persistentVolume.size}" must be a storage quantity such as 5Gi`,
    );
  }
  for (const key of ["runAsUser", "runAsGroup", "fsGroup"] as const) {
    const v = args.podSecurity?.[key];
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) {
      fail(
        `podSecurity.${key} must be a non-zero UID/GID (got ${v}); containers never run as root`,
      );
    }
  }
  const all = [...args.containers, ...(args.initContainers ?? [])];
  const names = new Set<string>();
  for (const c of all) {
    const where = `container "${c.name}"`;
    if (!dns1123LabelPattern.test(c.name)) fail(`${where}: name must be a DNS-1123 label`);
    if (names.has(c.name)) fail(`${where}: container names must be unique`);
    names.add(c.name);
    const img = typeof c.image === "string" ? parseImage(c.image) : {};
    if ("problem" in img) fail(`${where}: image "${String(c.image)}" ${img.problem}`);
    const { requests, limits } = c.resources;
    if (!cpuPattern.test(requests.cpu) || !cpuPattern.test(limits.cpu)) {
      fail(
        `${where}: resources cpu must be quantities such as 250m (got ${requests.cpu}/${limits.cpu})`,
      );
    }
    if (!bytesPattern.test(requests.memory) || !bytesPattern.test(limits.memory)) {
      fail(
        `${where}: resources memory must be quantities such as 128Mi (got ${requests.memory}/${limits.memory})`,
      );
    }
    if (cpuMillis(limits.cpu) < cpuMillis(requests.cpu)) {
      fail(`${where}: resources.limits.cpu ${limits.cpu} is below requests.cpu ${requests.cpu}`);
    }
    if (bytes(limits.memory) < bytes(requests.memory)) {
      fail(
        `${where}: resources.limits.memory ${limits.memory} is below requests.memory ${requests.memory}`,
      );
    }
    if (c.runAsUser !== undefined && (!Number.isInteger(c.runAsUser) || c.runAsUser < 1)) {
      fail(`${where}: runAsUser must be a non-zero UID (got ${c.runAsUser})`);
    }
  }
  const rules: [string, Peer[]][] = [
    ...(args.ingress ?? []).map((r, i): [string, Peer[]] => [`ingress[${i}].from`, r.from]),
    ...(args.egress ?? []).map((r, i): [string, Peer[]] => [`egress[${i}].to`, r.to]),
  ];
  for (const [where, peers] of rules) {
    peers.forEach((p, j) => {
      if (!p.podLabels && !p.namespace && !p.cidr) {
        fail(
          `${where}[${j}] must set podLabels, namespace or cidr (an empty peer would match nothing)`,
        );
      }
    });
  }
  if (args.kind === "Job" && args.replicas !== 1) fail("a Job runs one pod: replicas must be 1");
  if (args.kind === "DaemonSet" && args.replicas !== 1) {
    fail("a DaemonSet runs one pod per node: replicas must be 1");
  }
  validateHostAccess(args, fail);
  for (const c of args.kind === "Job" ? [] : args.containers) {
    if (!c.livenessProbe || !c.readinessProbe) {
      fail(`container "${c.name}": livenessProbe and readinessProbe are required`);
    }
  }
}

/** Host namespaces, host paths and root containers each need a named, reasoned exemption. */
function validateHostAccess(args: WorkloadArgs, fail: (msg: string) => never): void {
  const exempt = new Set(args.exemptions?.policies ?? []);
  if (args.exemptions && args.exemptions.reason.trim() === "") {
    fail("exemptions.reason must say why the policies do not apply");
  }
  const needs: [boolean, string, string][] = [
    [!!args.host?.network || !!args.host?.pid, "no-host-namespaces", "host.network/host.pid"],
    [(args.host?.paths?.length ?? 0) > 0, "no-host-path", "host.paths"],
    [
      [...args.containers, ...(args.initContainers ?? [])].some((c) => c.runAsRoot),
      "run-as-non-root",
      "runAsRoot",
    ],
  ];
  for (const [used, policy, what] of needs) {
    if (used && !exempt.has(policy)) {
      fail(
        `${what} needs an explicit exemption: list "${policy}" in exemptions.policies with a reason`,
      );
    }
  }
}

/** Replicas or autoscaling, the rollout deadline and the preStop sleep against the grace period. */
function validateScaling(args: WorkloadArgs, fail: (msg: string) => never): void {
  const kind = args.kind ?? "Deployment";
  if (args.autoscaling) {
    if (kind !== "Deployment") fail("autoscaling is only allowed with kind Deployment");
    validateAutoscaling(args, fail);
  } else if (args.replicas === undefined || !Number.isInteger(args.replicas) || args.replicas < 1) {
    fail(`replicas must be a whole number >= 1 (got ${args.replicas})`);
  }
  const deadline = args.progressDeadlineSeconds;
  if (deadline !== undefined && (!Number.isInteger(deadline) || deadline < 1))
    fail(`progressDeadlineSeconds must be a whole number >= 1 (got ${deadline})`);
  if (deadline !== undefined && kind !== "Deployment")
    fail("progressDeadlineSeconds is only allowed with kind Deployment");
  const grace = args.terminationGracePeriodSeconds ?? 30;
  for (const c of args.containers) {
    const sleep = c.preStopSleepSeconds;
    if (sleep !== undefined && (!Number.isInteger(sleep) || sleep < 1 || sleep >= grace)) {
      fail(
        `container "${c.name}": preStopSleepSeconds must be a whole number from 1 to ${grace - 1}, below terminationGracePeriodSeconds ${grace} (got ${sleep})`,
      );
    }
  }
}

/** An autoscaled workload: no fixed replicas, a sane range and at least one target. */
function validateAutoscaling(args: WorkloadArgs, fail: (msg: string) => never): void {
  const a = args.autoscaling!;
  if (args.replicas !== undefined) {
    fail(
      `replicas must not be set with autoscaling (the HorizontalPodAutoscaler owns the count; got replicas ${args.replicas}); use autoscaling.minReplicas`,
    );
  }
  const whole = (v: number, min: number) => Number.isInteger(v) && v >= min;
  if (!whole(a.minReplicas, 1))
    fail(`autoscaling.minReplicas must be a whole number >= 1 (got ${a.minReplicas})`);
  if (!whole(a.maxReplicas, 1) || a.maxReplicas < a.minReplicas) {
    fail(
      `autoscaling.maxReplicas must be a whole number >= minReplicas ${a.minReplicas} (got ${a.maxReplicas})`,
    );
  }
  if (a.cpuUtilization === undefined && a.memoryUtilization === undefined) {
    fail("autoscaling needs a target: set cpuUtilization and/or memoryUtilization (percent)");
  }
  for (const key of ["cpuUtilization", "memoryUtilization"] as const) {
    const v = a[key];
    if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > 1000))
      fail(`autoscaling.${key} must be a whole percent from 1 to 1000 (got ${v})`);
  }
  const window = a.scaleDownStabilizationSeconds;
  if (window !== undefined && (!Number.isInteger(window) || window < 0 || window > 3600)) {
    fail(
      `autoscaling.scaleDownStabilizationSeconds must be a whole number from 0 to 3600 (got ${window})`,
    );
  }
}
