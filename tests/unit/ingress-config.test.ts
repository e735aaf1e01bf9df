import { durationSeconds } from "../../infra/ingress-schema";
import { secretsNeeded } from "../../infra/schema";
import { validateConfig } from "../../infra/validate";
import { PROJECT, rawConfig as raw } from "../helpers/stack-config";

/** Every problem of a stack's config changed by `mutate` (none when it is accepted). */
function problems(mutate: (c: any) => void, stack = "staging") {
  const c: any = structuredClone(raw(stack));
  mutate(c);
  const r = validateConfig(c, PROJECT);
  return r.ok ? [] : r.problems;
}

describe("ingress configuration", () => {
  test.each(["dev", "staging", "prod"])("the %s stack's ingress section validates", (stack) => {
    expect(problems(() => undefined, stack)).toEqual([]);
  });

  test.each<[string, (c: any) => void, string, RegExp]>([
    [
      "host that is not a DNS name",
      (c) => (c.ingress.hosts[0] = "Auditflow_Example"),
      "ingress.hosts[0]",
      /fully qualified DNS name/,
    ],
    ["no host", (c) => (c.ingress.hosts = []), "ingress.hosts", /at least one host/],
    [
      "single-label host",
      (c) => (c.ingress.hosts = ["auditflow"]),
      "ingress.hosts[0]",
      /fully qualified DNS name/,
    ],
    [
      "internal name for ACME",
      (c) => (c.ingress.hosts = ["auditflow.home.internal"]),
      "ingress.hosts[0]",
      /not a public name.*move it to internalHosts/,
    ],
    [
      "name listed twice",
      (c) => (c.ingress.internalHosts = [c.ingress.hosts[0]]),
      "ingress.internalHosts[0]",
      /listed twice/,
    ],
    [
      "zero rate",
      (c) => (c.ingress.rateLimit.api.average = 0),
      "ingress.rateLimit.api.average",
      /at least 1/,
    ],
    [
      "fractional burst",
      (c) => (c.ingress.rateLimit.general.burst = 1.5),
      "ingress.rateLimit.general.burst",
      /whole number/,
    ],
    [
      "burst that defeats the limit",
      (c) => (c.ingress.rateLimit.general.burst = 5000),
      "ingress.rateLimit.general.burst",
      /more than 10 times the average 200/,
    ],
    [
      "missing API limit",
      (c) => delete c.ingress.rateLimit.api,
      "ingress.rateLimit.api",
      /required/,
    ],
    [
      "body size that is not a quantity",
      (c) => (c.ingress.maxRequestBody = "2MB"),
      "ingress.maxRequestBody",
      /size such as 2Mi/,
    ],
    [
      "body size too large",
      (c) => (c.ingress.maxRequestBody = "1Gi"),
      "ingress.maxRequestBody",
      /at most 100Mi/,
    ],
    [
      "ACME issuer without settings",
      (c) => delete c.ingress.acme,
      "ingress.acme",
      /required when issuer is "acme"/,
    ],
    [
      "ACME server over http",
      (c) => (c.ingress.acme.server = "http://acme.example.net/dir"),
      "ingress.acme.server",
      /https:\/\/ ACME directory URL/,
    ],
    [
      "ACME contact that is not an e-mail",
      (c) => (c.ingress.acme.email = "ops"),
      "ingress.acme.email",
      /e-mail address/,
    ],
    [
      "unknown solver",
      (c) => (c.ingress.acme.solver = "tls-alpn01"),
      "ingress.acme.solver",
      /one of "http01", "dns01"/,
    ],
    [
      "DNS-01 without provider settings",
      (c) => (c.ingress.acme.solver = "dns01"),
      "ingress.acme.dns01",
      /required when solver is "dns01"/,
    ],
    [
      "DNS-01 settings with HTTP-01",
      (c) => (c.ingress.acme.dns01 = { provider: "cloudflare" }),
      "ingress.acme.dns01",
      /only allowed when solver is "dns01"/,
    ],
    [
      "unknown DNS provider",
      (c) => Object.assign(c.ingress.acme, { solver: "dns01", dns01: { provider: "route53" } }),
      "ingress.acme.dns01.provider",
      /cloudflare|rfc2136/,
    ],
    [
      "unknown issuer",
      (c) => (c.ingress.issuer = "vault"),
      "ingress.issuer",
      /one of "acme", "private-ca"/,
    ],
    [
      "renewBefore not below the duration",
      (c) => (c.ingress.certificates = { duration: "720h", renewBefore: "720h" }),
      "ingress.certificates.renewBefore",
      /not shorter than the certificate duration/,
    ],
    [
      "duration that is not one",
      (c) => (c.ingress.certificates = { duration: "30d" }),
      "ingress.certificates.duration",
      /duration such as 720h/,
    ],
    [
      "Traefik replicas out of range",
      (c) => (c.ingress.traefik.replicas = 0),
      "ingress.traefik.replicas",
      /at least 1/,
    ],
    [
      "unknown ingress key",
      (c) => (c.ingress.tls = true),
      "ingress.tls",
      /not a known setting; allowed keys here are: hosts, internalHosts, issuer/,
    ],
    ["missing ingress section", (c) => delete c.ingress, "ingress", /required/],
  ])("%s", (_title, mutate, key, message) => {
    const found = problems(mutate).find((p) => p.key === `${PROJECT}:${key}`);
    expect(found?.message).toMatch(message);
  });

  test("DNS-01 needs the secret acmeDns01Secret, and only then asks for it", () => {
    const prod = raw("prod");
    expect(secretsNeeded(prod)).toContain("acmeDns01Secret");
    expect(secretsNeeded(raw("staging"))).not.toContain("acmeDns01Secret");
    const found = problems((c) => delete c.acmeDns01Secret, "prod").find(
      (p) => p.key === `${PROJECT}:acmeDns01Secret`,
    );
    expect(found?.message).toMatch(/required when ingress.acme.solver is "dns01"/);
  });

  test("durations read as cert-manager reads them", () => {
    expect(durationSeconds("720h")).toBe(2592000);
    expect(durationSeconds("1h30m")).toBe(5400);
    expect(durationSeconds("45s")).toBe(45);
    expect(() => durationSeconds("30d")).toThrow(/not a duration/);
  });
});
