/** The ingress components under Pulumi mocks: the objects they create and their argument errors. */
import * as pulumi from "@pulumi/pulumi";
import { CertManager } from "../../components/ingress/cert-manager";
import { CertificateIssuers } from "../../components/ingress/certificate-issuers";
import {
  CONTENT_SECURITY_POLICY,
  PublicEndpoint,
  PublicEndpointArgs,
} from "../../components/ingress/public-endpoint";
import { TraefikConfig } from "../../components/ingress/traefik-config";
import {
  expectRejectedBeforeCreating,
  ofKind,
  only,
  runComponent,
  RecordedResource,
  specOf,
} from "../helpers/program";
import { parse } from "yaml";

const privateCa = { name: "ca", kind: "ClusterIssuer", group: "cert-manager.io" } as const;
const acme = { name: "acme", kind: "ClusterIssuer", group: "cert-manager.io" } as const;
const endpointArgs = (over: Partial<PublicEndpointArgs> = {}): PublicEndpointArgs => ({
  namespace: "auditflow",
  sites: [
    { name: "public", hosts: ["auditflow.example.net"], issuer: acme, http01: true },
    { name: "internal", hosts: ["auditflow.auditflow.internal"], issuer: privateCa },
  ],
  dashboard: {
    serviceName: "event-audit-dashboard",
    port: 8080,
    peer: { podLabels: { "app.kubernetes.io/name": "event-audit-dashboard" } },
  },
  api: {
    serviceName: "audit-log-analysis",
    port: 8000,
    peer: { podLabels: { "app.kubernetes.io/name": "audit-log-analysis" } },
  },
  generalRateLimit: { average: 200, burst: 100 },
  apiRateLimit: { average: 500, burst: 250 },
  maxRequestBodyBytes: 2 * 2 ** 20,
  ...over,
});
const spec = specOf;
const named = (rs: RecordedResource[], kind: string, name: string) =>
  ofKind(rs, kind).find((r) => (r.inputs.metadata as any).name === name)!;

describe("PublicEndpoint", () => {
  let rs: RecordedResource[];
  beforeAll(async () => {
    rs = await runComponent(() => new PublicEndpoint("auditflow", endpointArgs()));
  });

  test("rate limits the API at 500/s and the dashboard at 200/s per client, bursts from the arguments", () => {
    expect(spec(named(rs, "Middleware", "auditflow-ratelimit-api")).rateLimit).toEqual({
      average: 500,
      period: "1s",
      burst: 250,
    });
    expect(spec(named(rs, "Middleware", "auditflow-ratelimit-general")).rateLimit).toEqual({
      average: 200,
      period: "1s",
      burst: 100,
    });
  });

  test("sets HSTS, frame, content-type, referrer and content security headers", () => {
    expect(spec(named(rs, "Middleware", "auditflow-security-headers")).headers).toMatchObject({
      stsSeconds: 31536000,
      frameDeny: true,
      contentTypeNosniff: true,
      referrerPolicy: "strict-origin-when-cross-origin",
      contentSecurityPolicy: CONTENT_SECURITY_POLICY,
    });
  });

  test("limits request bodies and redirects HTTP to HTTPS permanently", () => {
    expect(
      spec(named(rs, "Middleware", "auditflow-body-limit")).buffering.maxRequestBodyBytes,
    ).toBe(2097152);
    expect(spec(named(rs, "Middleware", "auditflow-redirect-https")).redirectScheme).toEqual({
      scheme: "https",
      permanent: true,
    });
  });

  test("serves each site on HTTPS with its own certificate: API at /api, live feed without buffering, dashboard at /", () => {
    const routes = ofKind(rs, "IngressRoute").filter((r) => spec(r).entryPoints[0] === "websecure");
    expect(routes).toHaveLength(2);
    const pub = routes.find((r) => spec(r).tls.secretName === "auditflow-public-tls")!;
    const [api, live, root] = spec(pub).routes;
    expect(api.match).toBe("(Host(`auditflow.example.net`)) && PathPrefix(`/api`)");
    expect(api.services).toEqual([{ name: "audit-log-analysis", port: 8000 }]);
    expect(api.middlewares.map((m: any) => m.name)).toEqual([
      "auditflow-security-headers",
      "auditflow-ratelimit-api",
      "auditflow-body-limit",
    ]);
    expect(live.match).toContain("PathPrefix(`/live`)");
    expect(live.middlewares.map((m: any) => m.name)).not.toContain("auditflow-body-limit");
    expect(root.services).toEqual([{ name: "event-audit-dashboard", port: 8080 }]);
    expect(api.priority).toBeGreaterThan(live.priority);
    expect(live.priority).toBeGreaterThan(root.priority);
  });

  test("asks each site's issuer for a certificate of its names", () => {
    const certs = ofKind(rs, "Certificate").map((r) => spec(r));
    expect(certs).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dnsNames: ["auditflow.example.net"], issuerRef: acme }),
        expect.objectContaining({
          dnsNames: ["auditflow.auditflow.internal"],
          issuerRef: privateCa,
        }),
      ]),
    );
  });

  test("admits exactly Traefik's pods to the dashboard, the API and the HTTP-01 solver", () => {
    const nps = ofKind(rs, "NetworkPolicy").map((r) => spec(r));
    expect(nps).toHaveLength(3);
    for (const np of nps) {
      expect(np.ingress).toHaveLength(1);
      expect(np.ingress[0].from).toEqual([
        {
          podSelector: {
            matchLabels: {
              "app.kubernetes.io/name": "traefik",
              "app.kubernetes.io/instance": "traefik-kube-system",
            },
          },
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
        },
      ]);
    }
    expect(nps.map((np) => np.ingress[0].ports[0].port).sort()).toEqual([8000, 8080, 8089]);
  });

  test.each<[string, Partial<PublicEndpointArgs>, RegExp]>([
    ["no site", { sites: [] }, /sites must list at least one site/],
    [
      "a name in two sites",
      {
        sites: [
          { name: "a", hosts: ["x.example.net"], issuer: acme },
          { name: "b", hosts: ["x.example.net"], issuer: privateCa },
        ],
      },
      /host x.example.net appears in two sites/,
    ],
    [
      "zero rate",
      { apiRateLimit: { average: 0, burst: 1 } },
      /apiRateLimit must have whole-number/,
    ],
    ["bad live path", { livePath: "live" }, /livePath "live" must be a path/],
    ["zero body limit", { maxRequestBodyBytes: 0 }, /maxRequestBodyBytes must be a whole number/],
  ])("refuses %s before creating anything", async (_t, over, message) => {
    await expectRejectedBeforeCreating(
      () => new PublicEndpoint("bad", endpointArgs(over)),
      message,
    );
  });
});

describe("TraefikConfig", () => {
  test("configures K3s' bundled chart: replicas, resources, JSON access logs, metrics, client addresses", async () => {
    const rs = await runComponent(
      () =>
        new TraefikConfig("traefik", {
          replicas: 2,
          resources: {
            requests: { cpu: "100m", memory: "64Mi" },
            limits: { cpu: "1", memory: "128Mi" },
          },
        }),
    );
    const hcc = only(rs, "kubernetes:helm.cattle.io/v1:HelmChartConfig");
    expect(hcc.inputs.metadata).toMatchObject({ name: "traefik", namespace: "kube-system" });
    const values = parse(spec(hcc).valuesContent);
    expect(values.deployment.replicas).toBe(2);
    expect(values.podDisruptionBudget).toEqual({ enabled: true, maxUnavailable: 1 });
    expect(values.resources.limits).toEqual({ cpu: "1", memory: "128Mi" });
    expect(values.logs.access).toMatchObject({ enabled: true, format: "json" });
    expect(values.metrics.prometheus.entryPoint).toBe("metrics");
    expect(values.service.spec.externalTrafficPolicy).toBe("Local");
  });

  test("runs one Traefik per server (a DaemonSet) where kube-vip holds the LoadBalancer address", async () => {
    const rs = await runComponent(
      () =>
        new TraefikConfig("traefik", {
          replicas: 3,
          placement: "servers",
          resources: {
            requests: { cpu: "100m", memory: "64Mi" },
            limits: { cpu: "1", memory: "128Mi" },
          },
        }),
    );
    const values = parse(
      spec(only(rs, "kubernetes:helm.cattle.io/v1:HelmChartConfig")).valuesContent,
    );
    expect(values.deployment.kind).toBe("DaemonSet");
    expect(values.deployment.replicas).toBeUndefined();
    expect(values.nodeSelector).toEqual({ "node-role.kubernetes.io/control-plane": "true" });
    expect(values.service.spec.externalTrafficPolicy).toBe("Local");
  });

  test("refuses a replica count outside 1-10", async () => {
    await expect(
      runComponent(
        () =>
          new TraefikConfig("t", {
            replicas: 0,
            resources: {
              requests: { cpu: "1", memory: "1Mi" },
              limits: { cpu: "1", memory: "1Mi" },
            },
          }),
      ),
    ).rejects.toThrow(/replicas must be a whole number from 1 to 10 \(got 0\)/);
  });
});

describe("cert-manager and its issuers", () => {
  test("installs cert-manager through a K3s HelmChart with its CRDs into its own default-deny namespace", async () => {
    const rs = await runComponent(() => new CertManager("cert-manager"));
    const chart = only(rs, "kubernetes:helm.cattle.io/v1:HelmChart");
    expect(spec(chart)).toMatchObject({
      chart: "cert-manager",
      repo: "https://charts.jetstack.io",
      version: "v1.19.4",
      targetNamespace: "cert-manager",
    });
    const values = parse(spec(chart).valuesContent);
    expect(values.crds).toEqual({ enabled: true, keep: true });
    expect(values.podAnnotations["prometheus.io/port"]).toBe("9402");
    const controller = ofKind(rs, "NetworkPolicy").find(
      (r) => r.name === "cert-manager-controller",
    )!;
    expect(spec(controller).ingress[0]).toEqual({
      from: [
        { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } },
      ],
      ports: [{ protocol: "TCP", port: 9402 }],
    });
    expect(rs.some((r) => r.name === "cert-manager-ns-default-deny")).toBe(true);
  });

  test("creates the private CA chain and a DNS-01 ACME issuer whose credential stays secret", async () => {
    const rs = await runComponent(
      () =>
        new CertificateIssuers("auditflow", {
          namespace: "cert-manager",
          acme: {
            server: "https://acme-v02.api.letsencrypt.org/directory",
            email: "ops@example.net",
            solver: "dns01",
            dns01: { provider: "cloudflare" },
            dns01Secret: pulumi.secret("token-123"),
          },
        }),
    );
    const issuers = ofKind(rs, "ClusterIssuer").map((r) => r.inputs as any);
    expect(issuers.map((i) => i.metadata.name).sort()).toEqual([
      "auditflow-acme",
      "auditflow-private-ca",
      "auditflow-selfsigned",
    ]);
    const ca = issuers.find((i) => i.metadata.name === "auditflow-private-ca");
    expect(ca.spec.ca.secretName).toBe("auditflow-private-ca");
    const caCert = only(rs, "kubernetes:cert-manager.io/v1:Certificate");
    expect(spec(caCert)).toMatchObject({ isCA: true, secretName: "auditflow-private-ca" });
    const acmeIssuer = issuers.find((i) => i.metadata.name === "auditflow-acme");
    expect(acmeIssuer.spec.acme.solvers[0].dns01.cloudflare.apiTokenSecretRef.key).toBe(
      "credential",
    );
    const secret = only(rs, "kubernetes:core/v1:Secret");
    expect(secret.secretPaths).toEqual(["stringData"]);
    expect(JSON.stringify(issuers)).not.toContain("token-123");
  });

  test("refuses DNS-01 without its credential", async () => {
    await expect(
      runComponent(
        () =>
          new CertificateIssuers("x", {
            namespace: "cert-manager",
            acme: {
              server: "https://acme.example.net/dir",
              email: "a@example.net",
              solver: "dns01",
              dns01: { provider: "cloudflare" },
            },
          }),
      ),
    ).rejects.toThrow(/acme.dns01 and acme.dns01Secret are required when acme.solver is "dns01"/);
  });
});
