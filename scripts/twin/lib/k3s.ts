/**
 * What a K3s server brings that the twin's bare control plane lacks, written from the K3s API types:
 * simulated Nodes shaped like the stack's hardware, the `local-path` StorageClass with a provisioner
 * that behaves like rancher.io/local-path, and the CustomResourceDefinitions K3s installs itself
 * (helm.cattle.io HelmChart and HelmChartConfig).
 */
import * as fs from "fs";
import * as path from "path";
import { k3s } from "../../../components/versions";
import { bytes, cpuMillis } from "../../../components/lib/quantity";
import { ApiError, Kube, Obj } from "./kube";

/** One `cluster.nodes` entry of a stack. */
export interface StackNode {
  name: string;
  arch: string;
  cpu: number;
  memory: string;
  role: string;
}

/** CPU and memory kept back on every node for K3s itself and the OS. */
export interface Reserved {
  cpu: string;
  memory: string;
}

const REPO = path.resolve(__dirname, "../../..");

/**
 * The per-node reservation of a stack: `stack-capacity-fits.reservedPerNode` of its pack config
 * (policy/config/<stack>.json; prod's for other stacks), so the twin's nodes and the policy use one
 * figure. K3s' kubelet itself reserves only its 100Mi hard-eviction threshold (no kube-reserved or
 * system-reserved by default), but the K3s process (API server, etcd, containerd, kubelet in one
 * binary) and the OS take about half a core and 0.75-1 GiB on these machines, which pods can never
 * use; the reservation stands for that.
 */
export function reservedFor(stack: string): Reserved {
  const own = path.join(REPO, "policy/config", `${stack}.json`);
  const file = fs.existsSync(own) ? own : path.join(REPO, "policy/config/prod.json");
  const cfg = JSON.parse(fs.readFileSync(file, "utf8")) as Obj;
  const r = cfg["stack-capacity-fits"]?.reservedPerNode as Reserved | undefined;
  return r ?? { cpu: "250m", memory: "512Mi" };
}

/** Maximum pods per node: the kubelet's default, which K3s keeps. */
export const MAX_PODS = 110;

/** Allocatable CPU (millicores) and memory (bytes) of a node after the reservation. */
export function allocatable(
  n: StackNode,
  reserved: Reserved,
): { cpuMillis: number; memory: number } {
  return {
    cpuMillis: Math.max(0, Math.round(n.cpu * 1000) - cpuMillis(reserved.cpu)),
    memory: Math.max(0, bytes(n.memory) - bytes(reserved.memory)),
  };
}

/**
 * The Node object K3s' kubelet would register for a stack node: hostname/arch/os labels, K3s'
 * instance-type label, control-plane, master and etcd role labels on servers. K3s taints no server
 * by default (it does only with --node-taint, which the K3sCluster component does not pass), so
 * servers run workloads and the twin's servers carry no taint either.
 */
export function nodeObject(
  n: StackNode,
  reserved: Reserved,
  extraLabels: Record<string, string> = {},
): Obj {
  const alloc = allocatable(n, reserved);
  const server = n.role === "server";
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: n.name,
      annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
      labels: {
        "kubernetes.io/arch": n.arch,
        "kubernetes.io/os": "linux",
        "kubernetes.io/hostname": n.name,
        "beta.kubernetes.io/arch": n.arch,
        "beta.kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": "k3s",
        ...(server
          ? {
              "node-role.kubernetes.io/control-plane": "true",
              "node-role.kubernetes.io/master": "true",
              "node-role.kubernetes.io/etcd": "true",
            }
          : {}),
        ...extraLabels,
      },
    },
    spec: {},
    status: {
      capacity: {
        cpu: String(n.cpu),
        memory: n.memory,
        pods: String(MAX_PODS),
        "ephemeral-storage": "64Gi",
      },
      allocatable: {
        cpu: `${alloc.cpuMillis}m`,
        memory: String(alloc.memory),
        pods: String(MAX_PODS),
        "ephemeral-storage": "60Gi",
      },
      nodeInfo: {
        architecture: n.arch,
        operatingSystem: "linux",
        kubeletVersion: k3s.version,
        kubeProxyVersion: k3s.version,
        containerRuntimeVersion: "containerd://simulated-by-kwok",
        kernelVersion: "simulated",
        osImage: "simulated",
        machineID: "",
        systemUUID: "",
        bootID: "",
      },
    },
  };
}

/** Creates the Node and sets its status (the create path does not take a status). */
export async function createNode(kube: Kube, node: Obj): Promise<void> {
  const { status, ...rest } = node;
  await kube.request("POST", "/api/v1/nodes", rest);
  await kube.request(
    "PATCH",
    `/api/v1/nodes/${node.metadata.name}/status`,
    { status },
    "application/merge-patch+json",
  );
}

/** K3s' default StorageClass, as its local-path-provisioner manifest defines it. */
export const LOCAL_PATH_STORAGE_CLASS: Obj = {
  apiVersion: "storage.k8s.io/v1",
  kind: "StorageClass",
  metadata: {
    name: "local-path",
    annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
  },
  provisioner: "rancher.io/local-path",
  volumeBindingMode: "WaitForFirstConsumer",
  reclaimPolicy: "Delete",
};

const SELECTED_NODE = "volume.kubernetes.io/selected-node";

/**
 * The local-path provisioner's behaviour: once the scheduler has picked a node for a pod with an
 * unbound `local-path` claim (it records the node on the claim), create a PersistentVolume of the
 * claimed size on that node (node affinity on its hostname) pre-bound to the claim. The PV
 * controller in kube-controller-manager then binds them and the scheduler binds the pod.
 */
export function startLocalPathProvisioner(kube: Kube): { stop: () => void } {
  const done = new Set<string>();
  const w = kube.watch("/api/v1/persistentvolumeclaims", (type, pvc) => {
    if (type === "DELETED") return;
    const node = pvc.metadata?.annotations?.[SELECTED_NODE];
    const uid = String(pvc.metadata?.uid);
    if (
      !node ||
      pvc.spec?.volumeName ||
      pvc.spec?.storageClassName !== "local-path" ||
      done.has(uid)
    )
      return;
    done.add(uid);
    const pv = {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: {
        name: `pvc-${uid}`,
        annotations: { "pv.kubernetes.io/provisioned-by": "rancher.io/local-path" },
      },
      spec: {
        capacity: { storage: pvc.spec?.resources?.requests?.storage },
        accessModes: pvc.spec?.accessModes,
        persistentVolumeReclaimPolicy: "Delete",
        storageClassName: "local-path",
        volumeMode: pvc.spec?.volumeMode ?? "Filesystem",
        hostPath: {
          path: `/var/lib/rancher/k3s/storage/pvc-${uid}_${pvc.metadata.namespace}_${pvc.metadata.name}`,
          type: "DirectoryOrCreate",
        },
        claimRef: {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          namespace: pvc.metadata.namespace,
          name: pvc.metadata.name,
          uid,
        },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [
              {
                matchExpressions: [
                  { key: "kubernetes.io/hostname", operator: "In", values: [node] },
                ],
              },
            ],
          },
        },
      },
    };
    kube.request("POST", "/api/v1/persistentvolumes", pv).catch((e: unknown) => {
      if (!(e instanceof ApiError && e.code === 409)) done.delete(uid);
    });
  });
  return w;
}

/** OpenAPI schema helpers for the CRDs below. */
const str = { type: "string" };
const bool = { type: "boolean" };
const int = { type: "integer" };
const intOrString = { "x-kubernetes-int-or-string": true };
const freeForm = { type: "object", "x-kubernetes-preserve-unknown-fields": true };
const localRef = { type: "object", properties: { name: str } };

function crd(kind: string, plural: string, spec: Obj, status?: Obj): Obj {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.helm.cattle.io` },
    spec: {
      group: "helm.cattle.io",
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase() },
      scope: "Namespaced",
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          subresources: status ? { status: {} } : undefined,
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                apiVersion: str,
                kind: str,
                metadata: { type: "object" },
                spec: { type: "object", properties: spec },
                ...(status ? { status: { type: "object", properties: status } } : {}),
              },
            },
          },
        },
      ],
    },
  };
}

const failurePolicy = { type: "string", enum: ["abort", "reinstall"] };
/** Secrets whose keys are merged into the chart values (both kinds take them). */
const valuesSecrets = {
  type: "array",
  items: {
    type: "object",
    properties: { name: str, keys: { type: "array", items: str }, ignoreUpdates: bool },
  },
};

/**
 * The CRDs K3s installs itself (its embedded helm-controller's types, k3s-io/helm-controller
 * pkg/apis/helm.cattle.io/v1): HelmChart and HelmChartConfig. Written here from those Go types.
 */
export const K3S_CRDS: Obj[] = [
  crd(
    "HelmChart",
    "helmcharts",
    {
      targetNamespace: str,
      createNamespace: bool,
      chart: str,
      version: str,
      repo: str,
      repoCA: str,
      repoCAConfigMap: localRef,
      set: { type: "object", additionalProperties: intOrString },
      valuesContent: str,
      valuesSecrets,
      helmVersion: str,
      bootstrap: bool,
      chartContent: str,
      jobImage: str,
      backOffLimit: { ...int, format: "int32" },
      timeout: str,
      failurePolicy,
      authSecret: localRef,
      authPassCredentials: bool,
      insecureSkipTLSVerify: bool,
      plainHTTP: bool,
      dockerRegistrySecret: localRef,
      podSecurityContext: freeForm,
      securityContext: freeForm,
    },
    {
      jobName: str,
      conditions: {
        type: "array",
        items: {
          type: "object",
          properties: { type: str, status: str, reason: str, message: str },
        },
      },
    },
  ),
  crd("HelmChartConfig", "helmchartconfigs", {
    valuesContent: str,
    valuesSecrets,
    failurePolicy,
  }),
];

/** A CRD whose spec and status the API server stores without validating them (open schema). */
function openCrd(
  group: string,
  version: string,
  kind: string,
  scope: "Namespaced" | "Cluster",
): Obj {
  const plural = `${kind.toLowerCase()}s`;
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase() },
      scope,
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: { spec: freeForm, status: freeForm },
            },
          },
        },
      ],
    },
  };
}

/**
 * Traefik's CRDs, which K3s installs with its bundled traefik-crd chart. The twin serves them with
 * open schemas: objects of these kinds are accepted and stored, their spec is not validated.
 */
export const TRAEFIK_CRDS: Obj[] = [
  "IngressRoute",
  "IngressRouteTCP",
  "IngressRouteUDP",
  "Middleware",
  "MiddlewareTCP",
  "ServersTransport",
  "ServersTransportTCP",
  "TLSOption",
  "TLSStore",
  "TraefikService",
].map((kind) => openCrd("traefik.io", "v1alpha1", kind, "Namespaced"));

/**
 * cert-manager's CRDs, which its Helm chart installs when K3s' helm-controller runs a HelmChart of
 * chart `cert-manager` (no helm-controller runs in the twin). Installed only when the plan holds
 * such a HelmChart, with open schemas like Traefik's.
 */
export function chartCrds(objects: Obj[]): Obj[] {
  const certManager = objects.some(
    (o) =>
      o.kind === "HelmChart" &&
      o.apiVersion === "helm.cattle.io/v1" &&
      o.spec?.chart === "cert-manager",
  );
  if (!certManager) return [];
  return [
    ["Certificate", "Namespaced"],
    ["CertificateRequest", "Namespaced"],
    ["Issuer", "Namespaced"],
    ["ClusterIssuer", "Cluster"],
  ]
    .map(([kind, scope]) => openCrd("cert-manager.io", "v1", kind!, scope as "Namespaced"))
    .concat(
      [
        ["Order", "Namespaced"],
        ["Challenge", "Namespaced"],
      ].map(([kind, scope]) => openCrd("acme.cert-manager.io", "v1", kind!, scope as "Namespaced")),
    );
}
