/**
 * The `ingress` section of the stack configuration: public names, rate limits, body size limit,
 * the certificate issuers and Traefik's sizing. Kept apart from schema.ts so the section reads whole.
 */
import { z } from "zod";
import { bytes, bytesPattern, cpuPattern } from "../components/lib/quantity";

/** A fully qualified DNS name: lower-case labels joined by dots, at least two labels. */
export const dnsNamePattern =
  /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$/;
/** A Go duration of hours, minutes and seconds as cert-manager reads it (e.g. 720h, 90m, 1h30m). */
export const durationPattern = /^(?=\d)(\d+h)?(\d+m)?(\d+s)?$/;

/** Seconds in a duration such as `720h` or `1h30m`. */
export function durationSeconds(d: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(d);
  if (!m || !durationPattern.test(d)) throw new Error(`not a duration: ${d}`);
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

const dnsName = z.string().regex(dnsNamePattern, {
  error: "must be a fully qualified DNS name in lower case, such as auditflow.example.net",
});
const duration = z
  .string()
  .regex(durationPattern, { error: "must be a duration such as 720h or 90m" })
  .refine((d) => !durationPattern.test(d) || durationSeconds(d) > 0, {
    error: "must be longer than 0s",
  });
const rate = (max: number) =>
  z
    .number({ error: "must be a whole number" })
    .int({ error: "must be a whole number" })
    .min(1, { error: "must be at least 1 (requests per second)" })
    .max(max, { error: `must be at most ${max}` });

const rateLimitSchema = z.strictObject({
  /** Sustained requests per second per client IP. */
  average: rate(100000),
  /** Requests a client may send at once above the average (Traefik's token bucket size). */
  burst: rate(100000),
});

const dns01Schema = z.discriminatedUnion(
  "provider",
  [
    z.strictObject({
      // The API token is the secret config value acmeDns01Secret.
      provider: z.literal("cloudflare"),
    }),
    z.strictObject({
      provider: z.literal("rfc2136"),
      /** The authoritative DNS server that accepts dynamic updates (host:port). */
      nameserver: z.string().regex(/^[a-z0-9.-]+:\d{1,5}$/, {
        error: "must be host:port of the DNS server, such as 192.168.50.2:53",
      }),
      tsigKeyName: dnsName,
      tsigAlgorithm: z.enum(["HMACSHA256", "HMACSHA512"]),
      // The TSIG key is the secret config value acmeDns01Secret.
    }),
  ],
  { error: 'must name a provider: "cloudflare" or "rfc2136"' },
);

const acmeSchema = z.strictObject({
  /** The ACME directory (Let's Encrypt production or staging, or any RFC 8555 server). */
  server: z.url({ protocol: /^https$/, error: "must be an https:// ACME directory URL" }),
  /** The account's contact address. */
  email: z.email({ error: "must be an e-mail address" }),
  solver: z.enum(["http01", "dns01"]),
  dns01: dns01Schema.optional(),
  /** PEM certificates that sign the ACME server's HTTPS (a private ACME CA such as step-ca). */
  caBundle: z
    .string()
    .regex(/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/, {
      error: "must be PEM certificates (-----BEGIN CERTIFICATE-----...)",
    })
    .optional(),
});

export const ingressSchema = z
  .strictObject({
    /** Public names of the platform (dashboard at `/`, API at `/api`). */
    hosts: z.array(dnsName).min(1, { error: "must list at least one host name" }),
    /** Internal names, always certified by the private CA (e.g. auditflow.auditflow.internal). */
    internalHosts: z.array(dnsName).optional(),
    /** Who signs the certificate of `hosts`: the ACME issuer or the private CA. */
    issuer: z.enum(["acme", "private-ca"]),
    acme: acmeSchema.optional(),
    rateLimit: z.strictObject({ general: rateLimitSchema, api: rateLimitSchema }),
    /** The largest request body Traefik accepts (a memory quantity such as 2Mi). */
    maxRequestBody: z.string().regex(bytesPattern, { error: "must be a size such as 2Mi" }),
    /** Path under `/` on which the dashboard serves its live WebSocket feed. */
    livePath: z
      .string()
      .regex(/^\/[a-z0-9][-a-z0-9/]*$/, { error: "must be a path such as /live" })
      .optional(),
    certificates: z
      .strictObject({
        /** Certificate lifetime asked of the private CA. */
        duration: duration.optional(),
        /** How long before expiry cert-manager renews. */
        renewBefore: duration.optional(),
      })
      .optional(),
    traefik: z.strictObject({
      replicas: rate(10),
      resources: z.strictObject({
        requests: z.strictObject({
          cpu: z.string().regex(cpuPattern, { error: "must be a CPU quantity such as 100m" }),
          memory: z.string().regex(bytesPattern, { error: "must be a memory quantity" }),
        }),
        limits: z.strictObject({
          cpu: z.string().regex(cpuPattern, { error: "must be a CPU quantity such as 500m" }),
          memory: z.string().regex(bytesPattern, { error: "must be a memory quantity" }),
        }),
      }),
    }),
  })
  .superRefine((c, ctx) => {
    const issue = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: "custom", path, message });
    if (c.issuer === "acme" && !c.acme) {
      issue(["acme"], 'is required when issuer is "acme" (server, email, solver)');
    }
    if (c.acme?.solver === "dns01" && !c.acme.dns01) {
      issue(["acme", "dns01"], 'is required when solver is "dns01" (provider and its credentials)');
    }
    if (c.acme?.solver === "http01" && c.acme.dns01) {
      issue(["acme", "dns01"], 'is only allowed when solver is "dns01"');
    }
    const seen = new Set<string>();
    [...c.hosts, ...(c.internalHosts ?? [])].forEach((h, i) => {
      if (seen.has(h)) {
        const inHosts = i < c.hosts.length;
        issue(
          inHosts ? ["hosts", i] : ["internalHosts", i - c.hosts.length],
          `"${h}" is listed twice; each name belongs to one certificate`,
        );
      }
      seen.add(h);
    });
    if (c.issuer === "acme") {
      c.hosts.forEach((h, i) => {
        if (h.endsWith(".internal") || h.endsWith(".local") || h.endsWith(".lan")) {
          issue(
            ["hosts", i],
            `"${h}" is not a public name, so no ACME CA can validate it; move it to internalHosts`,
          );
        }
      });
    }
    for (const kind of ["general", "api"] as const) {
      const r = c.rateLimit[kind];
      if (r.burst > r.average * 10) {
        issue(
          ["rateLimit", kind, "burst"],
          `is ${r.burst}, more than 10 times the average ${r.average}; a burst that large defeats the limit`,
        );
      }
    }
    if (bytesPattern.test(c.maxRequestBody) && bytes(c.maxRequestBody) > 100 * 2 ** 20) {
      issue(["maxRequestBody"], "must be at most 100Mi (Traefik buffers the body in memory)");
    }
    const d = c.certificates;
    if (
      d?.duration &&
      d.renewBefore &&
      durationPattern.test(d.duration) &&
      durationPattern.test(d.renewBefore) &&
      durationSeconds(d.renewBefore) >= durationSeconds(d.duration)
    ) {
      issue(
        ["certificates", "renewBefore"],
        `is ${d.renewBefore}, not shorter than the certificate duration ${d.duration}; renewal would never stop`,
      );
    }
  });
export type IngressConfig = z.infer<typeof ingressSchema>;
