/**
 * The analysis rules' file-watch contract (README "Services"; components/apps/analysis-rules.ts),
 * held against the kubelet's own ConfigMap volume code, which kwok does not run:
 * `kubelet-configmap-volume` (tools/twin/k8s, built with the twin's binaries from
 * k8s.io/kubernetes v1.34) calls the configmap volume plugin's MakePayload and the AtomicWriter on
 * the ConfigMap and volume the program renders, writing into a directory that stands for the
 * pod's mount at RULES_DIR. A watch on that directory (Node's fs.watch: inotify on Linux) is what
 * the contract asks the service to do.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import { RULES_DIR, RULES_FILE } from "../../components/apps/analysis-rules";
import { Obj, sleep, until } from "../../scripts/twin/lib/kube";
import { buildBinaries } from "../../scripts/twin/lib/cluster";
import { renderStack } from "../../scripts/twin/lib/twin";

const REPO = path.resolve(__dirname, "../..");
const STACK = "prod";
const SERVICE = "audit-log-analysis";

jest.setTimeout(600_000);

describe("the rules file-watch contract against the kubelet's ConfigMap volume code", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rules-volume-"));
  const volumeDir = path.join(dir, "rules");
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** The rendered rules ConfigMap, and the Deployment's volume and mount for it. */
  const rulesOf = (objects: Obj[]) => {
    const cm = objects.find(
      (o) => o.kind === "ConfigMap" && o.metadata.name === `${SERVICE}-rules`,
    )!;
    const d = objects.find((o) => o.kind === "Deployment" && o.metadata.name === SERVICE)!;
    const mount = (d.spec.template.spec.containers[0].volumeMounts as Obj[]).find(
      (m) => m.mountPath === RULES_DIR,
    )!;
    const volume = (d.spec.template.spec.volumes as Obj[]).find((v) => v.name === mount.name)!;
    return { cm, mount, volume: volume.configMap as Obj };
  };

  test(
    "the kubelet's AtomicWriter swaps `..data` in one rename that a directory watch sees, RULES_DIR/rules.json " +
      "then reads the new rules, a file resolved before the change (what a subPath mount pins) keeps the old " +
      "ones, and rewriting unchanged rules makes no event",
    async () => {
      const bin = path.join(buildBinaries().kubernetes, "kubelet-configmap-volume");
      const before = renderStack(STACK);
      const file = path.join(dir, `Pulumi.${STACK}.yaml`);
      const doc = parse(fs.readFileSync(path.join(REPO, `Pulumi.${STACK}.yaml`), "utf8"));
      const entry = (doc.config["auditflow-platform:services"] as Obj[]).find(
        (s) => s.name === SERVICE,
      )!;
      entry.rules[0].severity = "critical";
      fs.writeFileSync(file, stringify(doc));
      const after = renderStack(STACK, file);
      const old = rulesOf(before.objects);
      const next = rulesOf(after.objects);
      // The platform's half of the contract: a directory mount of the stably named ConfigMap.
      expect(old.mount.subPath).toBeUndefined();
      expect(old.volume.name).toBe(`${SERVICE}-rules`);
      expect(next.volume).toEqual(old.volume);
      expect(next.cm.data[RULES_FILE]).not.toBe(old.cm.data[RULES_FILE]);

      const kubelet = (cm: Obj) => {
        const r = spawnSync(bin, [volumeDir], {
          input: JSON.stringify({ volume: old.volume, configMap: cm }),
          encoding: "utf8",
        });
        expect([r.status, r.stderr]).toEqual([0, ""]);
      };
      const rulesFile = path.join(volumeDir, RULES_FILE);
      kubelet(old.cm);
      expect(fs.readFileSync(rulesFile, "utf8")).toBe(old.cm.data[RULES_FILE]);
      expect(fs.readlinkSync(rulesFile)).toBe(`..data/${RULES_FILE}`);
      const firstVersion = fs.readlinkSync(path.join(volumeDir, "..data"));
      const pinned = fs.openSync(fs.realpathSync(rulesFile), "r");

      const events: string[] = [];
      const watcher = fs.watch(volumeDir, (_type, name) => events.push(String(name)));
      try {
        kubelet(next.cm);
        await until(
          async () => (events.includes("..data") ? true : undefined),
          5000,
          () => `a watch event for ..data (saw: ${events.join(", ")})`,
        );
        const version = fs.readlinkSync(path.join(volumeDir, "..data"));
        expect(version).not.toBe(firstVersion);
        expect(fs.readFileSync(rulesFile, "utf8")).toBe(next.cm.data[RULES_FILE]);
        const seen = JSON.parse(fs.readFileSync(rulesFile, "utf8"));
        expect(seen.checksum).not.toBe(JSON.parse(old.cm.data[RULES_FILE]).checksum);
        expect(seen.rules.find((r: Obj) => r.id === entry.rules[0].id).severity).toBe("critical");
        // The old version's directory is gone; an already resolved file still reads the old rules.
        expect(fs.existsSync(path.join(volumeDir, firstVersion))).toBe(false);
        const buf = Buffer.alloc(old.cm.data[RULES_FILE].length * 4);
        const n = fs.readSync(pinned, buf, 0, buf.length, 0);
        expect(buf.subarray(0, n).toString("utf8")).toBe(old.cm.data[RULES_FILE]);

        // The kubelet rewrites on every sync; unchanged rules touch nothing, so no reload.
        events.length = 0;
        kubelet(next.cm);
        await sleep(1000);
        expect(events).toEqual([]);
        expect(fs.readlinkSync(path.join(volumeDir, "..data"))).toBe(version);
      } finally {
        watcher.close();
        fs.closeSync(pinned);
      }
    },
  );
});
