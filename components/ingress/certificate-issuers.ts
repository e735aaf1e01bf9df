import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { recommendedLabels } from "../lib/labels";
import { AcmeSolver, Certificate, ClusterIssuer } from "./crds";

/** The ingress class cert-manager's HTTP-01 solver Ingresses use: K3s' Traefik. */
export const INGRESS_CLASS = "traefik";

/** DNS-01 through a DNS provider's API; the credential is a secret config value. */
export type Dns01Settings =
  | { provider: "cloudflare" }
  | {
      provider: "rfc2136";
      nameserver: string;
      tsigKeyName: string;
      tsigAlgorithm: "HMACSHA256" | "HMACSHA512";
    };

export interface AcmeSettings {
  /** ACME directory URL (https). Required. */
  server: string;
  /** Account contact e-mail. Required. */
  email: string;
  /** How the CA validates control of the names. Required. */
  solver: "http01" | "dns01";
  /** DNS-01 provider settings. Required when solver is "dns01". */
  dns01?: Dns01Settings;
  /** The DNS provider's credential (API token or TSIG key). Required when solver is "dns01". */
  dns01Secret?: pulumi.Input<string>;
  /** PEM bundle that signs the ACME server's HTTPS certificate (private ACME CAs). Defaults to the system roots. */
  caBundle?: string;
}

export interface CertificateIssuersArgs {
  /** Namespace cert-manager runs in: the CA key and ACME account key live there. Required. */
  namespace: pulumi.Input<string>;
  /** The public ACME issuer; omitted, only the private CA exists. Defaults to none. */
  acme?: AcmeSettings;
  /** Lifetime of the private CA's own certificate. Defaults to "87600h" (ten years). */
  caDuration?: string;
  /** Objects (the cert-manager HelmChart) that must exist first. Defaults to none. */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** A reference to a ClusterIssuer, as a Certificate's issuerRef. */
export interface IssuerRef {
  name: pulumi.Input<string>;
  kind: "ClusterIssuer";
  group: "cert-manager.io";
}

/**
 * The cluster's certificate issuers: an ACME issuer (HTTP-01 through Traefik or DNS-01) for public
 * names, and a private CA (a self-signed root made by cert-manager, kept in its namespace) for
 * internal names such as *.auditflow.internal.
 */
export class CertificateIssuers extends pulumi.ComponentResource {
  /** The ACME ClusterIssuer, when configured. */
  public readonly acme?: IssuerRef;
  /** The private CA ClusterIssuer. */
  public readonly privateCa: IssuerRef;
  /** Name of the Secret holding the private CA (ca.crt is what clients must trust). */
  public readonly caSecretName: string;

  constructor(name: string, args: CertificateIssuersArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auditflow:ingress:CertificateIssuers", name, {}, opts);
    validate(name, args);
    const labels = recommendedLabels({ name: "cert-manager", component: "certificates" });
    const childOpts = { parent: this, dependsOn: args.dependsOn };
    const ref = (issuerName: string): IssuerRef => ({
      name: issuerName,
      kind: "ClusterIssuer",
      group: "cert-manager.io",
    });

    // Private CA: a self-signed issuer signs the root once; the CA issuer signs with that root.
    // Issuer and Secret names are fixed because Certificates and clients refer to them.
    const selfSigned = `${name}-selfsigned`;
    new ClusterIssuer(
      `${name}-selfsigned`,
      { metadata: { name: selfSigned, labels }, spec: { selfSigned: {} } },
      childOpts,
    );
    this.caSecretName = `${name}-private-ca`;
    new Certificate(
      `${name}-private-ca`,
      {
        metadata: { name: `${name}-private-ca`, namespace: args.namespace, labels },
        spec: {
          isCA: true,
          commonName: "AuditFlow internal CA",
          secretName: this.caSecretName,
          duration: args.caDuration ?? "87600h",
          privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Never" },
          issuerRef: ref(selfSigned),
        },
      },
      childOpts,
    );
    this.privateCa = ref(`${name}-private-ca`);
    new ClusterIssuer(
      `${name}-private-ca-issuer`,
      {
        metadata: { name: `${name}-private-ca`, labels },
        spec: { ca: { secretName: this.caSecretName } },
      },
      childOpts,
    );

    if (args.acme) {
      const a = args.acme;
      let solver: AcmeSolver;
      if (a.solver === "http01") {
        solver = { http01: { ingress: { ingressClassName: INGRESS_CLASS } } };
      } else {
        const secret = new k8s.core.v1.Secret(
          `${name}-dns01`,
          {
            metadata: { namespace: args.namespace, labels },
            stringData: { credential: pulumi.secret(a.dns01Secret!) },
          },
          { parent: this },
        );
        const secretRef = { name: secret.metadata.name, key: "credential" };
        const d = a.dns01!;
        solver = {
          dns01:
            d.provider === "cloudflare"
              ? { cloudflare: { apiTokenSecretRef: secretRef } }
              : {
                  rfc2136: {
                    nameserver: d.nameserver,
                    tsigKeyName: d.tsigKeyName,
                    tsigAlgorithm: d.tsigAlgorithm,
                    tsigSecretSecretRef: secretRef,
                  },
                },
        };
      }
      new ClusterIssuer(
        `${name}-acme`,
        {
          metadata: { name: `${name}-acme`, labels },
          spec: {
            acme: {
              server: a.server,
              email: a.email,
              privateKeySecretRef: { name: `${name}-acme-account` },
              caBundle: a.caBundle && Buffer.from(a.caBundle).toString("base64"),
              solvers: [solver],
            },
          },
        },
        childOpts,
      );
      this.acme = ref(`${name}-acme`);
    }
    this.registerOutputs({});
  }
}

function validate(name: string, args: CertificateIssuersArgs): void {
  const a = args.acme;
  if (!a) return;
  if (!a.server.startsWith("https://")) {
    throw new Error(`CertificateIssuers ${name}: acme.server must be an https:// URL`);
  }
  if (a.solver === "dns01" && (!a.dns01 || a.dns01Secret === undefined)) {
    throw new Error(
      `CertificateIssuers ${name}: acme.dns01 and acme.dns01Secret are required when acme.solver is "dns01"`,
    );
  }
  if (a.solver === "http01" && a.dns01) {
    throw new Error(
      `CertificateIssuers ${name}: acme.dns01 is only allowed when acme.solver is "dns01"`,
    );
  }
}
