/**
 * The ingress objects the program generates, run by Traefik's and cert-manager's own code (built
 * from their Go modules into tools/traefik-harness by scripts/install-ingress-tools.sh), with small
 * backends, Pebble and its DNS on loopback:
 *
 * - routes: the dev plan's IngressRoutes, Middlewares and Services are decoded by Traefik's scheme
 *   and translated by Traefik's CRD provider (v3.6.12), served by Traefik's router, middlewares and
 *   entry points; the harness measures redirect, headers, WebSocket, body limit and rate limits.
 * - acme: a plan whose ClusterIssuer points at Pebble; cert-manager's (v1.19.4) ACME client and
 *   HTTP-01 solver handler obtain the plan's Certificate through Traefik's web entry point, the
 *   certificate is served from the Secret the IngressRoute names, then renewed at the time
 *   cert-manager's renewal function computes from the Certificate's renewBefore.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import { certManagerRules } from "../../components/ingress/cert-manager";
import { ruleFile } from "../../components/monitoring/rules";

const root = path.resolve(__dirname, "../..");
const [harness, pebble, challtestsrv] = spawnSync(
  "bash",
  [path.join(root, "scripts/install-ingress-tools.sh"), "--paths"],
  { encoding: "utf8" },
)
  .stdout.trim()
  .split("\n") as [string, string, string];
for (const bin of [harness, pebble, challtestsrv]) {
  if (!fs.existsSync(bin)) {
    throw new Error(`${bin} is missing: run scripts/install-ingress-tools.sh`);
  }
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ingress-conformance-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(cmd: string, args: string[], timeout: number): string {
  const r = spawnSync(cmd, args, { cwd: root, encoding: "utf8", timeout });
  if (r.status !== 0) {
    throw new Error(
      `${path.basename(cmd)} ${args[0]} failed (${r.status}): ${r.stderr}${r.stdout}`,
    );
  }
  return r.stdout;
}
const plan = (args: string[]) =>
  run(path.join(root, "node_modules/.bin/tsx"), ["scripts/plan.ts", ...args], 180_000);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

describe("the dev plan's routes on Traefik", () => {
  let rep: any;
  beforeAll(() => {
    const out = path.join(tmp, "dev");
    plan(["--stack", "dev", "--out", out]);
    rep = JSON.parse(run(harness, ["routes", "-plan", out, "-seconds", "3"], 120_000));
    console.log(
      `ingress rates: API ${rep.apiRate.okPerSecondAfterBurst.toFixed(1)}/s admitted of ${rep.apiRate.offeredPerSecond.toFixed(0)}/s offered (${rep.apiRate.ok} ok, ${rep.apiRate.tooMany} x 429); ` +
        `general ${rep.generalRate.okPerSecondAfterBurst.toFixed(1)}/s of ${rep.generalRate.offeredPerSecond.toFixed(0)}/s; ` +
        `general over two replicas ${rep.generalRateOverTwoReplicas.okPerSecondAfterBurst.toFixed(1)}/s of ${rep.generalRateOverTwoReplicas.offeredPerSecond.toFixed(0)}/s`,
    );
  }, 300_000);

  test("Traefik's CRD provider accepts every generated route and middleware", () => {
    expect(rep.routerErrors).toEqual([]);
    expect(rep.routers).toHaveLength(4);
    expect(Object.values(rep.middlewares).sort()).toEqual([
      "buffering maxRequestBodyBytes=2097152",
      "headers",
      "rateLimit average=200 burst=100 period=1s",
      "rateLimit average=500 burst=250 period=1s",
      "redirectScheme https",
    ]);
  });

  test("HTTP redirects permanently to the same URL over HTTPS", () => {
    expect(rep.redirectStatus).toBe(301);
    expect(rep.redirectLocation).toBe("https://auditflow.dev.auditflow.internal/reports?x=1");
  });

  test("/api reaches the analysis service, / and the live path the dashboard, over the site's certificate", () => {
    expect(rep.backendByPath).toEqual({
      "/": "event-audit-dashboard",
      "/api/v1/summary": "audit-log-analysis",
      "/live": "event-audit-dashboard",
    });
    expect(rep.servedCertificateCommonName).toBe("auditflow.dev.auditflow.internal");
  });

  test("responses carry HSTS, frame, content-type, referrer, permissions and content security headers", () => {
    expect(rep.headers).toMatchObject({
      "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
      "X-Frame-Options": "DENY",
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "strict-origin-when-cross-origin",
      "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    });
    expect(rep.headers["Content-Security-Policy"]).toMatch(
      /^default-src 'self'; .*frame-ancestors 'none'/,
    );
  });

  test("a WebSocket on the live path upgrades and exchanges messages", () => {
    expect(rep.webSocket).toEqual({
      upgraded: true,
      status: 101,
      replies: ["event-audit-dashboard: hello", "event-audit-dashboard: audit-event-42"],
    });
  });

  test("a body one byte over the limit is refused with 413, a small one passes", () => {
    expect(rep.bodyLimit.smallPostStatus).toBe(200);
    expect(rep.bodyLimit.tooLargeBytes).toBe(2097153);
    expect(rep.bodyLimit.tooLargePostStatus).toBe(413);
  });

  test("the API admits about 500 requests/s per client beyond its burst and answers 429 with Retry-After beyond", () => {
    const r = rep.apiRate;
    expect(r.offeredPerSecond).toBeGreaterThan(900);
    expect(r.other).toBe(0);
    expect(r.tooMany).toBeGreaterThan(0);
    expect(r.retryAfterSeen).toBe(true);
    // The upper bound is the limit holding; the lower one leaves room for stalls of the load
    // generator on a busy machine (a bucket banks at most its burst, 0.5 s of tokens here).
    expect(r.okPerSecondAfterBurst).toBeGreaterThan(400);
    expect(r.okPerSecondAfterBurst).toBeLessThan(550);
  });

  test("the dashboard admits about 200 requests/s per client beyond its burst", () => {
    const r = rep.generalRate;
    expect(r.offeredPerSecond).toBeGreaterThan(360);
    expect(r.other).toBe(0);
    expect(r.tooMany).toBeGreaterThan(0);
    expect(r.okPerSecondAfterBurst).toBeGreaterThan(160);
    expect(r.okPerSecondAfterBurst).toBeLessThan(220);
  });

  test("two Traefik replicas each keep their own bucket: a client spread over both gets about twice the limit", () => {
    const r = rep.generalRateOverTwoReplicas;
    expect(r.other).toBe(0);
    expect(r.okPerSecondAfterBurst).toBeGreaterThan(320);
    expect(r.okPerSecondAfterBurst).toBeLessThan(440);
  });
});

describe("certificates from an ACME CA (Pebble) through Traefik", () => {
  let rep: any;
  beforeAll(async () => {
    const work = path.join(tmp, "acme");
    const ca = JSON.parse(run(harness, ["gen-ca", "-work", work], 30_000));
    // The dev stack with an ACME issuer on loopback and a short renewBefore (Pebble issues
    // certificates valid for 60 seconds in this test).
    const doc = parse(fs.readFileSync(path.join(root, "Pulumi.dev.yaml"), "utf8"));
    const ingress = doc.config["auditflow-platform:ingress"];
    Object.assign(ingress, {
      hosts: ["auditflow.test"],
      issuer: "acme",
      acme: {
        server: `https://127.0.0.1:${await freePort()}/dir`,
        email: "ops@auditflow.test",
        solver: "http01",
        caBundle: fs.readFileSync(ca["pebble-ca"], "utf8"),
      },
      certificates: { renewBefore: "30s" },
    });
    const configFile = path.join(work, "Pulumi.acme.yaml");
    fs.writeFileSync(configFile, stringify(doc));
    const out = path.join(work, "plan");
    plan(["--stack", "dev", "--config-file", configFile, "--out", out]);
    rep = JSON.parse(
      run(
        harness,
        ["acme", "-plan", out, "-pebble", pebble, "-challtestsrv", challtestsrv, "-work", work],
        180_000,
      ),
    );
    console.log(
      `ACME: ${JSON.stringify(rep.certificates.map((c: any) => [c.serial, c.notBefore, c.notAfter, c.renewalTime]))}`,
    );
  }, 400_000);

  test("the generated ClusterIssuer and Certificate are the ones used", () => {
    expect(rep.solver).toBe("http01");
    expect(rep.email).toBe("ops@auditflow.test");
    expect(rep.secretName).toBe("auditflow-public-tls");
    expect(rep.renewBefore).toBe("30s");
  });

  test("a certificate is issued after the CA validated HTTP-01 through Traefik, and Traefik serves it", () => {
    const [first] = rep.certificates;
    expect(rep.challengeRequestsThroughTraefik).toBeGreaterThan(0);
    expect(first.dnsNames).toEqual(["auditflow.test"]);
    expect(first.issuer).toMatch(/^Pebble Intermediate CA/);
    expect(first.servedSerial).toBe(first.serial);
    expect(first.servedVerified).toBe(true);
  });

  test("it is renewed at cert-manager's renewal time, before expiry, and the new one is served", () => {
    const [first, second] = rep.certificates;
    expect(Date.parse(first.renewalTime)).toBe(Date.parse(first.notAfter) - 30_000);
    expect(Date.parse(second.obtainedAt)).toBeGreaterThanOrEqual(Date.parse(first.renewalTime));
    expect(Date.parse(second.obtainedAt)).toBeLessThan(Date.parse(first.notAfter));
    expect(second.serial).not.toBe(first.serial);
    expect(second.servedSerial).toBe(second.serial);
    expect(rep.renewedBeforeExpiry).toBe(true);
  });
});

describe("certificate alerts on Prometheus' own rule engine (promtool)", () => {
  test("the rules load, fire for a certificate 10 days from expiry and not for one 60 days away", () => {
    const dir = fs.mkdtempSync(path.join(tmp, "alerts-"));
    fs.writeFileSync(path.join(dir, "rules.yaml"), stringify(ruleFile([certManagerRules()])));
    run("/usr/bin/promtool", ["check", "rules", path.join(dir, "rules.yaml")], 30_000);
    // At t=0 the first certificate expires in 10 days, the second in 60; 2h later the first has
    // been below 14 days for over the 1h `for`, the second never.
    const day = 86400;
    fs.writeFileSync(
      path.join(dir, "test.yaml"),
      stringify({
        rule_files: ["rules.yaml"],
        evaluation_interval: "1m",
        tests: [
          {
            interval: "1m",
            input_series: [
              {
                series:
                  'certmanager_certificate_expiration_timestamp_seconds{namespace="auditflow",name="auditflow-public"}',
                values: `${10 * day}+0x180`,
              },
              {
                series:
                  'certmanager_certificate_expiration_timestamp_seconds{namespace="auditflow",name="auditflow-internal"}',
                values: `${60 * day}+0x180`,
              },
            ],
            alert_rule_test: [
              {
                eval_time: "2h",
                alertname: "CertificateExpiringSoon",
                exp_alerts: [
                  {
                    exp_labels: {
                      severity: "warning",
                      namespace: "auditflow",
                      name: "auditflow-public",
                    },
                    exp_annotations: {
                      summary: "Certificate auditflow/auditflow-public expires within 14 days",
                      description:
                        "cert-manager has not renewed auditflow/auditflow-public, which expires in less than 14 days (renewal normally happens 30 days before).",
                      runbook:
                        "kubectl -n auditflow describe certificate auditflow-public; check the issuer's ACME challenges (kubectl get challenges -A).",
                    },
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    const out = run("/usr/bin/promtool", ["test", "rules", path.join(dir, "test.yaml")], 30_000);
    expect(out).toMatch(/SUCCESS/);
  });
});
