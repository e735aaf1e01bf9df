/** components/lib/shell.ts: loading .sh files against their typed environment contract. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { loadShellScript, variablesRead } from "../../components/lib/shell";
import { backupScriptFiles, verifyScript } from "../../components/data/backup-scripts";
import { BACKUP_VERIFICATION_TABLE } from "../../components/data/postgres-config";

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "shell-test-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string) => {
  fs.writeFileSync(path.join(dir, name), text);
  return name;
};
const HEADER = `#!/bin/sh
# Greets.
#
# Environment:
#   GREETING  required  what to say
#   TARGET    optional  whom to greet
set -eu
echo "$GREETING, \${TARGET:-world}"
`;

describe("loadShellScript", () => {
  test("returns the file's exact text when header and contract agree", () => {
    const s = loadShellScript(dir, write("ok.sh", HEADER), {
      GREETING: "required",
      TARGET: "optional",
    });
    expect(s.name).toBe("ok.sh");
    expect(s.text).toBe(HEADER);
  });

  test("names every disagreement between header and contract", () => {
    const file = write("ok2.sh", HEADER);
    expect(() => loadShellScript(dir, file, { GREETING: "optional", TARGET: "optional" })).toThrow(
      'ok2.sh: its "# Environment:" header disagrees: GREETING is required in the header but optional in the contract',
    );
    expect(() => loadShellScript(dir, file, { GREETING: "required" })).toThrow(
      "TARGET is in the header but not in the contract",
    );
    expect(() =>
      loadShellScript(dir, file, { GREETING: "required", TARGET: "optional", EXTRA: "required" }),
    ).toThrow("EXTRA (required) is in the contract but not in the header");
  });

  test("rejects a script that reads an upper-case variable its header does not declare", () => {
    const file = write("undeclared.sh", `${HEADER}echo "$SECRET_THING"\n`);
    expect(() => loadShellScript(dir, file, { GREETING: "required", TARGET: "optional" })).toThrow(
      "the script reads SECRET_THING, which the header does not declare",
    );
  });

  test("variablesRead leaves out comments, the script's own assignments and lower-case names", () => {
    const text = `# uses $IN_COMMENT\nOWN=1\necho "$OWN $lower \${READ_ME:-x} $PATH"\n`;
    expect([...variablesRead(text)]).toEqual(["READ_ME"]);
  });
});

describe("ShellScript environment", () => {
  const script = () =>
    loadShellScript(dir, write("env.sh", HEADER), { GREETING: "required", TARGET: "optional" });

  test("containerEnv lists values in the contract's order and keeps valueFrom sources", () => {
    const secretRef = { secretKeyRef: { name: "s", key: "k" } };
    expect(script().containerEnv({ TARGET: { valueFrom: secretRef }, GREETING: "hi" })).toEqual([
      { name: "GREETING", value: "hi" },
      { name: "TARGET", valueFrom: secretRef },
    ]);
  });

  test("an Output value is a plain value, not a valueFrom", () => {
    const out = pulumi.output("hi");
    expect(script().containerEnv({ GREETING: out })).toEqual([{ name: "GREETING", value: out }]);
  });

  test("environment leaves out unset optional variables", () => {
    expect(script().environment({ GREETING: "hi" })).toEqual({ GREETING: "hi" });
  });

  test("names a missing required or an unknown variable given past the type check", () => {
    const s = script();
    // @ts-expect-error GREETING is required by the contract.
    expect(() => s.environment({ TARGET: "x" })).toThrow("env.sh: GREETING is required");
    // @ts-expect-error NAME is not in the contract.
    expect(() => s.environment({ GREETING: "hi", NAME: "x" })).toThrow(
      "env.sh: NAME is not in its environment contract (GREETING, TARGET)",
    );
  });
});

describe("the backup scripts", () => {
  test("ship as files side by side, the ones that source s3.sh with it", () => {
    expect(backupScriptFiles.map((f) => f.name)).toEqual(["backup.sh", "verify.sh", "s3.sh"]);
    for (const f of backupScriptFiles.filter((f) => f.name !== "s3.sh"))
      expect(f.text).toContain('. "$(dirname "$0")/s3.sh"');
  });

  test("verify.sh records its outcome in the table the exporter queries", () => {
    expect(verifyScript.text).toContain(
      `create table if not exists ${BACKUP_VERIFICATION_TABLE} (`,
    );
    expect(verifyScript.text).toContain(`insert into ${BACKUP_VERIFICATION_TABLE} (`);
  });
});
