/**
 * Generated stacks for checking the capacity and architecture policies against the real scheduler:
 * random nodes (count, size, architecture), random workloads (Deployments and DaemonSets, replicas,
 * rolling-update surge, requests, architecture pins, and for replicated Deployments the soft
 * anti-affinity and spreading the program's Workload renders) and one image build per stack with
 * random platforms. Many stacks share one twin: each gets its own namespace and nodes, kept apart by
 * a label and a taint that only its pods select and tolerate (the policies see the workloads
 * without them).
 */
import type { PlannedResource } from "../../../policy/engine/evaluate";
import type { NodeSpec } from "../../../policy/lib/placement";
import { Obj } from "./kube";

/** mulberry32: a small seeded PRNG, so a failing stack can be regenerated from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const PARTITION_KEY = "twin.auditflow.dev/stack";

export interface GeneratedStack {
  id: string;
  seed: number;
  nodes: (NodeSpec & { role: string })[];
  reserved: { cpu: string; memory: string };
  /** The image build: its tag and platforms. */
  image: { tag: string; platforms: string[] };
  /** Workloads as the program would render them (no partition label or toleration). */
  workloads: Obj[];
  /**
   * Pods each Deployment has at its peak: its replicas plus the pods its rolling update adds on
   * top (maxSurge; Kubernetes' default 25% rounded up; none for Recreate), worked out here from the
   * strategy the generator chose, not by the policy's code.
   */
  peak: Record<string, number>;
}

/** The rolling-update strategies the generator picks from, with the surge each adds to `r` replicas. */
const STRATEGIES: { strategy?: Obj; surge: (r: number) => number }[] = [
  { strategy: undefined, surge: (r) => Math.ceil(r / 4) },
  {
    strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    surge: () => 1,
  },
  {
    strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
    surge: () => 0,
  },
  { strategy: { type: "Recreate" }, surge: () => 0 },
];

export function generateStack(index: number, seed: number): GeneratedStack {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const id = `gen-${index}`;
  const nodes = Array.from({ length: 1 + Math.floor(r() * 4) }, (_, j) => ({
    name: `${id}-node-${j}`,
    arch: pick(["arm64", "amd64"] as const),
    cpu: pick([1, 2, 4, 8]),
    memory: pick(["1Gi", "2Gi", "4Gi", "8Gi", "16Gi"]),
    role: j === 0 ? "server" : "agent",
  }));
  const platforms = pick([["linux/amd64"], ["linux/arm64"], ["linux/amd64", "linux/arm64"]]);
  const tag = `ghcr.io/auditflow/${id}:1.0.0`;
  const peak: Record<string, number> = {};
  const workloads = Array.from({ length: 1 + Math.floor(r() * 5) }, (_, k) => {
    const daemon = r() < 0.15;
    const name = `w${k}`;
    const labels = { "app.kubernetes.io/name": name };
    const arch = r() < 0.35 ? pick(["arm64", "amd64"]) : undefined;
    const replicas = 1 + Math.floor(r() * 4);
    const { strategy, surge } = pick(STRATEGIES);
    if (!daemon) peak[name] = replicas + surge(replicas);
    // As components/apps/workload.ts renders a workload with more than one pod at its peak.
    const spreadLikeWorkload = !daemon && peak[name]! > 1 && r() < 0.7;
    return {
      apiVersion: "apps/v1",
      kind: daemon ? "DaemonSet" : "Deployment",
      metadata: { name, namespace: id, labels },
      spec: {
        ...(daemon ? {} : { replicas, ...(strategy ? { strategy } : {}) }),
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            ...(arch ? { nodeSelector: { "kubernetes.io/arch": arch } } : {}),
            ...(spreadLikeWorkload
              ? {
                  affinity: {
                    podAntiAffinity: {
                      preferredDuringSchedulingIgnoredDuringExecution: [
                        {
                          weight: 100,
                          podAffinityTerm: {
                            topologyKey: "kubernetes.io/hostname",
                            labelSelector: { matchLabels: labels },
                          },
                        },
                      ],
                    },
                  },
                  topologySpreadConstraints: [
                    {
                      maxSkew: 1,
                      topologyKey: "kubernetes.io/hostname",
                      whenUnsatisfiable: "ScheduleAnyway",
                      labelSelector: { matchLabels: labels },
                    },
                  ],
                }
              : {}),
            containers: [
              {
                name: "app",
                image: tag,
                resources: {
                  requests: {
                    cpu: pick(["50m", "100m", "250m", "500m", "1", "1500m"]),
                    memory: pick(["64Mi", "128Mi", "256Mi", "512Mi", "1Gi", "2Gi"]),
                  },
                },
              },
            ],
          },
        },
      },
    };
  });
  return {
    id,
    seed,
    nodes,
    reserved: { cpu: "500m", memory: "768Mi" },
    image: { tag, platforms },
    workloads,
    peak,
  };
}

/** What the policy pack sees of a generated stack. */
export function plannedOf(s: GeneratedStack): PlannedResource[] {
  return [
    {
      urn: `urn:pulumi:${s.id}::gen::docker-build:index:Image::${s.id}-image`,
      type: "docker-build:index:Image",
      name: `${s.id}-image`,
      props: { platforms: s.image.platforms, tags: [s.image.tag], push: true },
    },
    ...s.workloads.map((w) => ({
      urn: `urn:pulumi:${s.id}::gen::kubernetes:apps/v1:${w.kind}::${w.metadata.name}`,
      type: `kubernetes:apps/v1:${w.kind}`,
      name: w.metadata.name,
      props: w,
    })),
  ];
}

/**
 * A workload as the twin runs it: the partition added (only this stack's nodes are eligible), and
 * a Deployment at its peak, so that the scheduler places every pod the policy counts.
 */
export function partitioned(s: GeneratedStack, w: Obj): Obj {
  const copy = structuredClone(w);
  const pod = copy.spec.template.spec;
  pod.nodeSelector = { ...(pod.nodeSelector ?? {}), [PARTITION_KEY]: s.id };
  pod.tolerations = [{ key: PARTITION_KEY, operator: "Equal", value: s.id, effect: "NoSchedule" }];
  if (copy.kind === "Deployment") copy.spec.replicas = s.peak[w.metadata.name];
  return copy;
}
