/**
 * The four services as each stack deploys them: hot-reloaded analysis rules, autoscaling, metrics,
 * graceful shutdown and a progress deadline.
 */
import { METRICS, PRESTOP_SECONDS } from "../../components/apps/auditflow-service";
import { RULES_DIR } from "../../components/apps/analysis-rules";
import { SERVICE_NAMES } from "../../components/apps/catalog";
import { ofKind, planStack, RecordedResource, specOf } from "../helpers/program";
import { rawConfig } from "../helpers/stack-config";

const spec = specOf;
const meta = (r: RecordedResource) => r.inputs.metadata as any;
const serviceDeployments = (rs: RecordedResource[]) =>
  ofKind(rs, "Deployment").filter((d) => (SERVICE_NAMES as readonly string[]).includes(d.name));

describe.each(["dev", "staging", "prod"])("stack %s", (stack) => {
  let rs: RecordedResource[];
  let outputs: Record<string, unknown>;
  const services = rawConfig(stack).services as any[];
  beforeAll(async () => {
    ({ resources: rs, outputs } = await planStack(stack));
  });

  test("a migration waits for this rollout's backup of the service's database, and the service for its migration", () => {
    const byName = (type: string, name: string) =>
      rs.find((r) => r.type === type && r.name === name)!;
    const backup = byName("kubernetes:batch/v1:Job", "postgres-backup-pre-audit-log-analysis");
    const migrate = byName("kubernetes:batch/v1:Job", "audit-log-analysis-migrate");
    const deployment = byName("kubernetes:apps/v1:Deployment", "audit-log-analysis");
    const postgres = byName("kubernetes:apps/v1:StatefulSet", "postgres");
    expect(backup.request.dependencies).toContain(postgres.urn);
    expect(migrate.request.dependencies).toContain(backup.urn);
    expect(deployment.request.dependencies).toContain(migrate.urn);
    const image = spec(deployment).template.spec.containers[0].image;
    expect(spec(backup).template.metadata.annotations).toEqual({ "auditflow.dev/rollout": image });
    expect(spec(migrate).template.spec.containers[0].image).toBe(image);
    // Only services that migrate get a pre-migration backup.
    expect(
      ofKind(rs, "Job")
        .map((j) => j.name)
        .filter((n) => n.startsWith("postgres-backup-pre-")),
    ).toEqual(["postgres-backup-pre-audit-log-analysis"]);
  });

  test("exports every service's image and digest for rollbacks", () => {
    const images = outputs.serviceImages as Record<
      string,
      { image: string; digest: string | null }
    >;
    expect(Object.keys(images).sort()).toEqual([...SERVICE_NAMES].sort());
    for (const d of serviceDeployments(rs)) {
      const ref = spec(d).template.spec.containers[0].image;
      expect(images[d.name]).toEqual({ image: ref, digest: ref.split("@")[1] ?? null });
    }
  });

  test("audit-log-analysis reads the stack's rules from a stably named ConfigMap directory", () => {
    const cm = ofKind(rs, "ConfigMap").find((c) => meta(c).name === "audit-log-analysis-rules")!;
    const doc = JSON.parse((cm.inputs.data as any)["rules.json"]);
    const configured = services.find((s) => s.name === "audit-log-analysis").rules;
    expect(doc.rules.map((r: any) => r.id)).toEqual(configured.map((r: any) => r.id).sort());
    const d = serviceDeployments(rs).find((x) => x.name === "audit-log-analysis")!;
    const pod = spec(d).template.spec;
    expect(pod.volumes).toContainEqual({
      name: "rules",
      configMap: { name: "audit-log-analysis-rules" },
    });
    const mounts = pod.containers[0].volumeMounts;
    expect(mounts.find((m: any) => m.name === "rules")).toEqual({
      name: "rules",
      mountPath: RULES_DIR,
      readOnly: true,
    });
    expect(mounts.every((m: any) => m.subPath === undefined)).toBe(true);
  });

  test("autoscaled services have an HPA from their config and no spec.replicas; others a fixed count", () => {
    const hpas = ofKind(rs, "HorizontalPodAutoscaler");
    for (const s of services) {
      const d = serviceDeployments(rs).find((x) => x.name === s.name)!;
      const hpa = hpas.find((h) => spec(h).scaleTargetRef.name === meta(d).name);
      if (s.autoscaling) {
        expect([s.name, spec(d).replicas]).toEqual([s.name, undefined]);
        expect(spec(hpa!)).toMatchObject({
          minReplicas: s.autoscaling.minReplicas,
          maxReplicas: s.autoscaling.maxReplicas,
        });
      } else {
        expect([s.name, spec(d).replicas, hpa]).toEqual([s.name, s.replicas, undefined]);
      }
    }
    expect(hpas).toHaveLength(services.filter((s) => s.autoscaling).length);
  });

  test("every service exposes /metrics on the port named metrics, drains on shutdown and has a progress deadline", () => {
    const ds = serviceDeployments(rs);
    expect(ds).toHaveLength(4);
    for (const d of ds) {
      const pod = spec(d).template.spec;
      const app = pod.containers[0];
      expect(app.ports).toContainEqual({
        name: "metrics",
        containerPort: METRICS.port,
        protocol: "TCP",
      });
      expect(spec(d).template.metadata.annotations["prometheus.io/path"]).toBe("/metrics");
      expect(app.lifecycle.preStop.sleep.seconds).toBe(PRESTOP_SECONDS);
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(PRESTOP_SECONDS);
      expect(spec(d).progressDeadlineSeconds).toBeGreaterThan(0);
    }
  });
});
