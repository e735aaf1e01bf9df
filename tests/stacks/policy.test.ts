/** The whole program for each stack through the policy pack, with that stack's pack config. */
import * as k8s from "@pulumi/kubernetes";
import {
  loadPackConfig,
  PlannedResource,
  reconcileConfig,
  runPack,
  stackConfigFile,
} from "../../policy/engine/evaluate";
import { policies, registry } from "../../policy/policies";
import { plannedResources, toPlanned } from "../../scripts/plan";
import { planStack, runComponent } from "../helpers/program";

describe.each(["dev", "staging", "prod"])("stack %s through the pack", (stack) => {
  let resources: PlannedResource[];
  beforeAll(async () => {
    resources = plannedResources((await planStack(stack)).resources);
  });

  test("has no mandatory violation", async () => {
    const report = await runPack(resources, { stack });
    expect(report.violations.filter((v) => v.enforcement === "mandatory")).toEqual([]);
    expect(report.summary.resources).toBe(resources.length);
  });

  test("has no advisory violation either", async () => {
    const report = await runPack(resources, { stack });
    // exemptions-listed only lists the program's explicit exemptions (asserted below).
    expect(report.violations.filter((v) => v.policy !== "exemptions-listed")).toEqual([]);
    expect(report.notices).toEqual([]);
  });

  test("exempts only NetworkPolicies for pods the stack cannot see, the node agents and single-replica Grafana and kube-state-metrics, each with its reason", async () => {
    const report = await runPack(resources, { stack });
    const exempt = report.violations
      .filter((v) => v.policy === "exemptions-listed")
      .map((v) => `${v.resource.namespace}/${v.resource.urn.split("::").pop()}`)
      .sort();
    // cert-manager's chart pods (installed by K3s' Helm controller), and in a stack whose ACME
    // issuer solves HTTP-01 the solver pods cert-manager starts during an order.
    expect(exempt).toEqual(
      [
        "cert-manager/cert-manager-apiserver",
        "cert-manager/cert-manager-controller",
        "cert-manager/cert-manager-webhook",
        ...(stack === "staging" ? ["auditflow/auditflow-acme-solver-from-traefik"] : []),
        "monitoring/monitoring-grafana",
        "monitoring/monitoring-kube-state-metrics",
        "monitoring-node/monitoring-log-agent",
        "monitoring-node/monitoring-node-exporter",
      ].sort(),
    );
    const monitoring = (v: { resource: { namespace?: string } }) =>
      v.resource.namespace?.startsWith("monitoring");
    for (const v of report.violations.filter(
      (x) => x.policy === "exemptions-listed" && !monitoring(x),
    )) {
      expect(v.message).toMatch(
        /exempt from network-policy-selects-pods: cert-manager( creates|'s pods)/,
      );
    }
  });

  test("in a preview once the cluster exists no policy crashes, only the two image policies are skipped, and the verdicts match a normal run", async () => {
    const preview = (await planStack(stack, { preview: true })).resources.map(toPlanned);
    // A crashing policy makes runPack reject; a skipped one (a value unknown until apply) leaves a
    // notice, which would otherwise look like a pass.
    const report = await runPack(preview, { stack });
    expect(report.summary.resources).toBe(preview.length);
    // The only checks preview may skip: the image policies on workloads whose image the program
    // builds itself (its reference, with the digest, is known only once it is pushed).
    for (const n of report.notices) {
      expect([n.policy, n.message]).toEqual([
        expect.stringMatching(/^(allowed-registries|image-tag-pinned)$/),
        expect.stringMatching(
          /^can't run during preview: value at \.\S*\.image can't be known during preview$/,
        ),
      ]);
    }
    const verdicts = (r: typeof report) =>
      r.violations.map((v) => `${v.policy} ${v.enforcement} ${v.resource.urn}`).sort();
    expect(verdicts(report)).toEqual(verdicts(await runPack(resources, { stack })));
  });

  test("in preview mode (first preview, cluster not created yet) no policy crashes or false-alarms", async () => {
    const preview = plannedResources((await planStack(stack, { preview: true })).resources);
    // The kubeconfig comes from the K3s install: the engine has no outputs for Kubernetes objects.
    expect(preview.filter((r) => r.outputs && Object.keys(r.outputs).length === 0).length).toBe(
      preview.filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi"))
        .length,
    );
    const report = await runPack(preview, { stack });
    expect(report.violations.filter((v) => v.policy !== "exemptions-listed")).toEqual([]);
    const levels = reconcileConfig(policies, "advisory", loadPackConfig(stackConfigFile(stack)));
    const enabledStackPolicies = [...registry.values()]
      .filter((m) => m.stack && levels.get(m.name)!.level !== "disabled")
      .map((m) => m.name);
    const judgedLater = report.notices.filter((n) => n.message.startsWith("cannot judge yet"));
    expect(judgedLater.map((n) => n.policy).sort()).toEqual(enabledStackPolicies.sort());
  });
});

test("a program with known bad resources yields exactly the expected violations", async () => {
  const recorded = await runComponent(() => {
    new k8s.apps.v1.Deployment("legacy", {
      metadata: { namespace: "default", labels: { app: "legacy" } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "legacy" } },
        template: {
          metadata: { labels: { app: "legacy" } },
          spec: {
            serviceAccountName: "legacy",
            automountServiceAccountToken: false,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 1000,
              seccompProfile: { type: "RuntimeDefault" },
            },
            containers: [
              {
                name: "web",
                image: "ghcr.io/auditflow/legacy:latest",
                imagePullPolicy: "Always",
                resources: {
                  requests: { cpu: "100m", memory: "64Mi" },
                  limits: { cpu: "200m", memory: "128Mi" },
                },
                livenessProbe: { httpGet: { path: "/", port: 8080 } },
                readinessProbe: { httpGet: { path: "/ready", port: 8080 } },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ["ALL"], add: ["NET_ADMIN"] },
                },
              },
            ],
          },
        },
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0 } },
      },
    });
  });
  const report = await runPack(plannedResources(recorded), {
    config: { all: "mandatory", "ephemeral-storage-limits": "disabled", "ha-replicas": "disabled" },
  });
  expect(
    report.violations
      // The Deployment is auto-named legacy-<8 hex>, as the Kubernetes provider does.
      .map((v) =>
        `${v.policy}: ${v.message.split(". Fix:")[0]}`.replace(
          /legacy-[0-9a-f]{8}/,
          "legacy-<auto>",
        ),
      )
      .sort(),
  ).toEqual([
    'image-tag-pinned: [high] container "web" image ghcr.io/auditflow/legacy:latest uses the mutable tag latest',
    'no-dangerous-capabilities: [critical] container "web" adds capability NET_ADMIN',
    "no-default-namespace: [medium] the object is in the default namespace",
    "pod-selected-by-network-policy: [high] Deployment legacy-<auto> has pods no specific NetworkPolicy selects",
    "recommended-labels: [low] labels app.kubernetes.io/name, app.kubernetes.io/part-of, app.kubernetes.io/managed-by are missing",
    "recommended-labels: [low] the pod template lacks app.kubernetes.io/name, app.kubernetes.io/part-of, app.kubernetes.io/managed-by",
  ]);
});
