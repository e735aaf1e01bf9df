/**
 * The AuditFlow platform program: wires the components for the selected stack.
 * Config is read and validated once (./config); components never read config themselves.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AuditFlowService } from "../components/apps/auditflow-service";
import { catalog } from "../components/apps/catalog";
import { K3sCluster } from "../components/cluster/k3s-cluster";
import { selectorLabels } from "../components/lib/labels";
import { PlatformNamespace } from "../components/security/namespace";
import { auditflowImages, k3s } from "../components/versions";
import { loadConfig, StackConfig } from "./config";
import { SERVICE_NAMES } from "./schema";

const config = loadConfig();

/** The Kubernetes provider for the stack's provisioning mode. */
function clusterProvider(c: StackConfig): {
  provider: k8s.Provider;
  kubeconfig?: pulumi.Output<string>;
} {
  const cluster = c.cluster;
  switch (cluster.provisioning) {
    case "ssh": {
      const k3sCluster = new K3sCluster("k3s", {
        nodes: cluster.nodes,
        k3sVersion: cluster.k3sVersion ?? k3s.version,
        sshUser: cluster.sshUser!,
        sshPrivateKey: c.sshPrivateKey!,
        sshPort: cluster.sshPort,
        apiAddress: cluster.apiAddress,
      });
      return { provider: k3sCluster.provider, kubeconfig: k3sCluster.kubeconfig };
    }
    case "kubeconfig":
      return {
        provider: new k8s.Provider("cluster", {
          context: cluster.kubeconfigContext,
          enableServerSideApply: true,
        }),
      };
    case "render":
      return {
        provider: new k8s.Provider("render", { renderYamlToDirectory: cluster.renderDir! }),
      };
  }
}

const { provider, kubeconfig: kubeconfigOutput } = clusterProvider(config);
const opts = { provider };

const appsNs = new PlatformNamespace(
  "apps",
  { namespaceName: "auditflow", component: "apps", ...config.namespaces.apps },
  opts,
);
const dataNs = new PlatformNamespace(
  "data",
  { namespaceName: "auditflow-data", component: "data", ...config.namespaces.data },
  opts,
);

const services = Object.fromEntries(
  SERVICE_NAMES.map((service) => {
    const spec = config.services.find((s) => s.name === service)!;
    const traits = catalog[service];
    const svc = new AuditFlowService(
      service,
      {
        service,
        traits,
        namespace: appsNs.name,
        image: spec.image ?? auditflowImages[service],
        replicas: spec.replicas,
        resources: spec.resources,
        placement: spec.placement,
        env: spec.env,
        callers: traits.calledBy.map((caller) => ({
          podLabels: selectorLabels({ name: caller, component: catalog[caller].component }),
        })),
      },
      opts,
    );
    return [service, svc];
  }),
);

export const namespaces = { apps: appsNs.name, data: dataNs.name };
export const serviceEndpoints = Object.fromEntries(
  Object.entries(services).map(([n, s]) => [n, pulumi.interpolate`http://${s.host}:${s.port}`]),
);
export const cluster = {
  provisioning: config.cluster.provisioning,
  nodes: config.cluster.nodes.map((n) => `${n.name} (${n.role}, ${n.arch})`),
};
/** Kubeconfig (secret) when the program installed K3s itself; null when the cluster is given. */
export const kubeconfig = kubeconfigOutput ?? null;
