/** The pack configs are generated from the stack files, so their stack facts cannot drift. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { packConfigFor, packConfigText, STACKS, stackNodes } from "../../scripts/policy-config";

const ROOT = path.resolve(__dirname, "../..");
import { loadPackConfig, stackConfigFile } from "../../policy/engine/evaluate";

describe.each(STACKS)("stack %s", (stack) => {
  test("policy/config/<stack>.json is exactly what npm run policy:config generates", () => {
    expect(fs.readFileSync(stackConfigFile(stack), "utf8")).toBe(packConfigText(stack));
  });

  test("its nodes and architectures are the stack file's", () => {
    const committed = loadPackConfig(stackConfigFile(stack)) as any;
    const nodes = stackNodes(stack);
    expect(committed["stack-capacity-fits"].nodes).toEqual(nodes);
    expect([...committed["image-architectures"].architectures].sort()).toEqual(
      [...new Set(nodes.map((n) => n.arch))].sort(),
    );
  });
});

test("a node added to the stack file changes the generated pack config", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "auditflow-pack-config-"));
  try {
    fs.mkdirSync(path.join(root, "policy/config/enforcement"), { recursive: true });
    fs.copyFileSync(
      path.join(ROOT, "policy/config/enforcement/dev.json"),
      path.join(root, "policy/config/enforcement/dev.json"),
    );
    const stackFile = fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8");
    const added = stackFile.replace(
      "        role: server\n",
      "        role: server\n      - name: pi-dev-2\n        address: 192.168.50.22\n        arch: amd64\n        cpu: 2\n        memory: 2Gi\n        role: agent\n",
    );
    expect(added).not.toBe(stackFile);
    fs.writeFileSync(path.join(root, "Pulumi.dev.yaml"), added);
    const after = packConfigFor("dev", root) as any;
    expect(after["stack-capacity-fits"].nodes.map((n: { name: string }) => n.name)).toEqual([
      "pi-dev-1",
      "pi-dev-2",
    ]);
    expect(after["image-architectures"].architectures).toEqual(["arm64", "amd64"]);
    expect(packConfigText("dev", root)).not.toBe(packConfigText("dev"));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
