/** The mock-runtime runner behind the offline plan: secrets, unknowns and parents as the engine has them. */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { UNKNOWN_MARKER } from "../../shared/markers";
import { only, runComponent } from "../helpers/program";

class Holder extends pulumi.ComponentResource {
  constructor(name: string) {
    super("test:index:Holder", name, {});
    const pw = new random.RandomPassword(
      `${name}-pw`,
      { length: 24, special: false },
      { parent: this },
    );
    new k8s.core.v1.Secret(
      `${name}-secret`,
      { metadata: { namespace: "ns" }, stringData: { password: pw.result } },
      { parent: this },
    );
    this.registerOutputs({});
  }
}

test("records parents, secret paths and generated values", async () => {
  const rs = await runComponent(() => new Holder("h"));
  const holder = only(rs, "test:index:Holder");
  const secret = only(rs, "kubernetes:core/v1:Secret");
  expect(secret.parent).toBe(holder.urn);
  expect(secret.secretPaths).toEqual(["stringData"]);
  expect((secret.inputs.stringData as any).password).toMatch(/^mock-h-pw-x+$/);
  expect((secret.state.metadata as any).name).toMatch(/^h-secret-[0-9a-f]{8}$/);
});

test("in preview, computed values stay unknown and are shown as such", async () => {
  const rs = await runComponent(() => new Holder("h"), true);
  const secret = only(rs, "kubernetes:core/v1:Secret");
  // The SDK sends a map holding an unknown value as unknown altogether, as the engine does.
  expect(secret.inputs.stringData).toBe(UNKNOWN_MARKER);
  expect(secret.secretPaths).toEqual(["stringData"]);
});
