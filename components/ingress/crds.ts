/**
 * Typed custom resources the ingress layer creates: K3s' Helm controller (HelmChart,
 * HelmChartConfig), cert-manager (ClusterIssuer, Certificate) and Traefik (Middleware, IngressRoute).
 *
 * Each class is a `CustomResource` whose constructor accepts only the fields this program sets, typed
 * after the CRDs' OpenAPI schemas (helm.cattle.io/v1 of K3s' helm-controller, cert-manager.io/v1 of
 * cert-manager v1.19, traefik.io/v1alpha1 of Traefik v3), so a misspelt field fails `tsc`, not the
 * API server. crd2pulumi would generate the same from the CRD YAML, which cannot be downloaded here.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

type Input<T> = pulumi.Input<T>;

/** Metadata the program sets on its custom resources. */
export interface CrMetadata {
  name?: Input<string>;
  namespace?: Input<string>;
  labels?: Record<string, Input<string>>;
  annotations?: Record<string, Input<string>>;
}

function custom<S>(
  apiVersion: string,
  kind: string,
): new (
  name: string,
  args: { metadata: CrMetadata; spec: S },
  opts?: pulumi.CustomResourceOptions,
) => k8s.apiextensions.CustomResource {
  return class extends k8s.apiextensions.CustomResource {
    constructor(
      name: string,
      args: { metadata: CrMetadata; spec: S },
      opts?: pulumi.CustomResourceOptions,
    ) {
      super(name, { apiVersion, kind, metadata: args.metadata, spec: args.spec }, opts);
    }
  };
}

// ---- K3s helm-controller (helm.cattle.io/v1) ---------------------------------------------------

/** A chart K3s' Helm controller installs and upgrades (runs a helm-install Job in kube-system). */
export interface HelmChartSpec {
  chart: string;
  repo?: string;
  version: string;
  targetNamespace: Input<string>;
  createNamespace?: boolean;
  /** Helm values as a YAML document. */
  valuesContent?: Input<string>;
  /** Seconds Helm waits for the release; K3s' default is 300. */
  timeout?: string;
}
export const HelmChart = custom<HelmChartSpec>("helm.cattle.io/v1", "HelmChart");

/** Values merged into a chart K3s bundles (it must have the chart's name and namespace). */
export interface HelmChartConfigSpec {
  valuesContent: Input<string>;
}
export const HelmChartConfig = custom<HelmChartConfigSpec>("helm.cattle.io/v1", "HelmChartConfig");

// ---- cert-manager (cert-manager.io/v1) ---------------------------------------------------------

export interface SecretKeySelector {
  name: Input<string>;
  key: string;
}

export interface AcmeSolver {
  http01?: { ingress: { ingressClassName: string } };
  dns01?: {
    cloudflare?: { apiTokenSecretRef: SecretKeySelector };
    rfc2136?: {
      nameserver: string;
      tsigKeyName: string;
      tsigAlgorithm: string;
      tsigSecretSecretRef: SecretKeySelector;
    };
  };
}

export interface ClusterIssuerSpec {
  acme?: {
    server: string;
    email: string;
    /** Where cert-manager keeps the ACME account key (in its own namespace). */
    privateKeySecretRef: { name: string };
    /** PEM bundle trusted for the ACME server's HTTPS (for a private ACME CA). */
    caBundle?: string;
    solvers: AcmeSolver[];
  };
  ca?: { secretName: Input<string> };
  selfSigned?: Record<string, never>;
}
export const ClusterIssuer = custom<ClusterIssuerSpec>("cert-manager.io/v1", "ClusterIssuer");

export interface CertificateSpec {
  secretName: Input<string>;
  commonName?: string;
  dnsNames?: string[];
  isCA?: boolean;
  duration?: string;
  renewBefore?: string;
  privateKey: {
    algorithm: "ECDSA" | "RSA" | "Ed25519";
    size?: number;
    rotationPolicy: "Always" | "Never";
  };
  issuerRef: { name: Input<string>; kind: "ClusterIssuer" | "Issuer"; group: "cert-manager.io" };
  secretTemplate?: { labels?: Record<string, string> };
}
export const Certificate = custom<CertificateSpec>("cert-manager.io/v1", "Certificate");

// ---- Traefik (traefik.io/v1alpha1) -------------------------------------------------------------

export interface MiddlewareSpec {
  rateLimit?: {
    average: number;
    period?: string;
    burst: number;
    sourceCriterion?: { ipStrategy?: { depth?: number }; requestHost?: boolean };
  };
  headers?: {
    stsSeconds?: number;
    stsIncludeSubdomains?: boolean;
    stsPreload?: boolean;
    forceSTSHeader?: boolean;
    frameDeny?: boolean;
    contentTypeNosniff?: boolean;
    referrerPolicy?: string;
    contentSecurityPolicy?: string;
    permissionsPolicy?: string;
    customResponseHeaders?: Record<string, string>;
  };
  buffering?: { maxRequestBodyBytes: number; memRequestBodyBytes?: number };
  redirectScheme?: { scheme: "https"; permanent: boolean; port?: string };
}
export const Middleware = custom<MiddlewareSpec>("traefik.io/v1alpha1", "Middleware");

export interface IngressRouteSpec {
  entryPoints: string[];
  routes: {
    kind: "Rule";
    match: string;
    priority?: number;
    middlewares?: { name: Input<string>; namespace?: Input<string> }[];
    services: { name: Input<string>; port?: number; kind?: "Service" | "TraefikService" }[];
  }[];
  tls?: { secretName: Input<string> };
}
export const IngressRoute = custom<IngressRouteSpec>("traefik.io/v1alpha1", "IngressRoute");
