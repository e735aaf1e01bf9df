import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { recommendedLabels } from "../lib/labels";
import type { RuleGroup } from "../monitoring/rules/types";
import { PlatformNamespace, ResourceSizes } from "../security/namespace";
import { ingress as versions } from "../versions";
import { HelmChart } from "./crds";

/** Port of cert-manager's Prometheus metrics (certmanager_certificate_expiration_timestamp_seconds). */
export const CERT_MANAGER_METRICS_PORT = 9402;
/**
 * cert-manager's alerts, over the metrics its controller exports (scraped on
 * CERT_MANAGER_METRICS_PORT). This component owns them; the monitoring stack loads the group with
 * its own rules (RuleParams.extraGroups), so there is one definition of each alert.
 */
export function certManagerRules(): RuleGroup {
  return {
    name: "certificates",
    rules: [
      {
        alert: "CertificateExpiringSoon",
        expr: "(certmanager_certificate_expiration_timestamp_seconds - time()) < 14 * 86400",
        for: "1h",
        severity: "warning",
        summary: "Certificate {{ $labels.namespace }}/{{ $labels.name }} expires within 14 days",
        description:
          "cert-manager has not renewed {{ $labels.namespace }}/{{ $labels.name }}, which expires in less than 14 days (renewal normally happens 30 days before).",
        runbook:
          "kubectl -n {{ $labels.namespace }} describe certificate {{ $labels.name }}; check the issuer's ACME challenges (kubectl get challenges -A).",
      },
      {
        alert: "CertificateNotReady",
        expr: 'max by (namespace, name) (certmanager_certificate_ready_status{condition="False"}) == 1',
        for: "30m",
        severity: "critical",
        summary:
          "Certificate {{ $labels.namespace }}/{{ $labels.name }} has not been Ready for 30 minutes",
        description:
          "cert-manager reports {{ $labels.namespace }}/{{ $labels.name }} not Ready: issuance or renewal is failing, and the hosts it covers may be served an expired or missing certificate.",
        runbook:
          "kubectl -n {{ $labels.namespace }} describe certificate {{ $labels.name }}; then the CertificateRequest, Order and Challenge it names, and the cert-manager controller's logs.",
      },
    ],
  };
}

/** Port the cert-manager webhook serves admission requests on. */
const WEBHOOK_PORT = 10250;

export interface CertManagerArgs {
  /** Namespace cert-manager runs in (created here, restricted, default-deny). Defaults to "cert-manager". */
  namespaceName?: string;
  /** Requests and limits of each cert-manager container. Defaults to 10m/64Mi requests, 200m/128Mi limits. */
  resources?: ResourceSizes;
  /**
   * Namespaces whose pods may scrape the controller's metrics port (the monitoring stack).
   * Defaults to ["monitoring"].
   */
  metricsScrapers?: pulumi.Input<string>[];
}

const DEFAULT_RESOURCES: ResourceSizes = {
  requests: { cpu: "10m", memory: "64Mi" },
  limits: { cpu: "200m", memory: "128Mi" },
};

/**
 * cert-manager installed the K3s way: a HelmChart object in kube-system that K3s' Helm controller
 * installs into its own restricted namespace (CRDs included). Its pods may reach the API server,
 * ACME servers (HTTPS) and, for DNS-01 propagation checks, DNS servers; the webhook admits the API
 * server. The typed ClusterIssuer and Certificate objects live in ./crds and ./certificate-issuers.
 */
export class CertManager extends pulumi.ComponentResource {
  /** The namespace cert-manager runs in (ClusterIssuers keep their Secrets here). */
  public readonly namespace: pulumi.Output<string>;
  /** The HelmChart, for `dependsOn` of objects that need cert-manager's CRDs. */
  public readonly chart: pulumi.Resource;
  /** The namespace's name, known at preview (the monitoring stack scrapes it). */
  public readonly namespaceName: string;
  /** cert-manager's alert rules, for the monitoring stack to load (see certManagerRules). */
  public readonly alertRules: RuleGroup = certManagerRules();

  constructor(name: string, args: CertManagerArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("auditflow:ingress:CertManager", name, {}, opts);
    const nsName = args.namespaceName ?? "cert-manager";
    const resources = args.resources ?? DEFAULT_RESOURCES;
    const scrapers = args.metricsScrapers ?? ["monitoring"];
    const ns = new PlatformNamespace(
      `${name}-ns`,
      { namespaceName: nsName, component: "certificates" },
      { parent: this },
    );
    this.namespace = ns.name;
    this.namespaceName = nsName;
    const labels = recommendedLabels({ name: "cert-manager", component: "certificates" });
    const pod = { resources };
    this.chart = new HelmChart(
      name,
      {
        // The HelmChart name is the Helm release name, which the chart's pod labels carry.
        metadata: { name: "cert-manager", namespace: "kube-system", labels },
        spec: {
          chart: "cert-manager",
          repo: versions.certManagerRepo,
          version: versions.certManager,
          targetNamespace: ns.name,
          createNamespace: false,
          valuesContent: stringify({
            crds: { enabled: true, keep: true },
            global: { leaderElection: { namespace: nsName } },
            ...pod,
            // The platform's scrape contract (README "The services at run time": Metrics).
            podAnnotations: {
              "prometheus.io/scrape": "true",
              "prometheus.io/port": String(CERT_MANAGER_METRICS_PORT),
              "prometheus.io/path": "/metrics",
            },
            webhook: pod,
            cainjector: pod,
            startupapicheck: pod,
            prometheus: { enabled: true, servicemonitor: { enabled: false } },
            // Certificates' Secrets are removed with their Certificate, not left behind.
            enableCertificateOwnerRef: true,
          }),
        },
      },
      { parent: this },
    );

    const selectorOf = (component?: string) => ({
      matchLabels: {
        "app.kubernetes.io/instance": "cert-manager",
        ...(component ? { "app.kubernetes.io/component": component } : {}),
      },
    });
    const tcp = (port: number) => ({ protocol: "TCP", port });
    const meta = {
      namespace: ns.name,
      labels,
      annotations: {
        "policy.auditflow.dev/exempt": "network-policy-selects-pods",
        "policy.auditflow.dev/exempt-reason":
          "cert-manager's pods come from its Helm chart, which K3s installs outside the stack",
      },
    };
    new k8s.networking.v1.NetworkPolicy(
      `${name}-controller`,
      {
        metadata: meta,
        spec: {
          podSelector: selectorOf("controller"),
          policyTypes: ["Ingress", "Egress"],
          ingress: scrapers.length
            ? [
                {
                  from: scrapers.map((n) => ({
                    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": n } },
                  })),
                  ports: [tcp(CERT_MANAGER_METRICS_PORT)],
                },
              ]
            : [],
          // ACME directories (443), the HTTP-01 self-check (80) and DNS-01 checks against the
          // authoritative servers (53): these are outside the cluster, at addresses not known here.
          egress: [
            { ports: [tcp(443), tcp(80)] },
            { ports: [tcp(53), { protocol: "UDP", port: 53 }] },
          ],
        },
      },
      { parent: this },
    );
    // Every cert-manager pod (controller, webhook, cainjector, startupapicheck) talks to the API.
    new k8s.networking.v1.NetworkPolicy(
      `${name}-apiserver`,
      {
        metadata: meta,
        spec: {
          podSelector: selectorOf(),
          policyTypes: ["Egress"],
          egress: [{ ports: [tcp(6443), tcp(443)] }],
        },
      },
      { parent: this },
    );
    new k8s.networking.v1.NetworkPolicy(
      `${name}-webhook`,
      {
        metadata: meta,
        spec: {
          podSelector: selectorOf("webhook"),
          policyTypes: ["Ingress"],
          // The API server calls the webhook from the node's network, whose address varies.
          ingress: [{ ports: [tcp(WEBHOOK_PORT)] }],
        },
      },
      { parent: this },
    );
    this.registerOutputs({ namespace: this.namespace });
  }
}
