/**
 * Reads plain Kubernetes manifests (multi-document YAML or JSON, as `helm template` or `kubectl`
 * produce them) into resources the pack can evaluate, each mapped to its Pulumi type token.
 *
 * YAML is read with js-yaml and its YAML 1.2 core schema: a correct YAML 1.2 reader that builds
 * plain objects directly, several times faster than `yaml`'s document API on large manifest sets
 * (see `npm run bench:policy-check`). Timestamps stay strings, as Kubernetes treats them.
 */
import * as fs from "fs";
import * as path from "path";
import { CORE_SCHEMA, loadAll, YAMLException } from "js-yaml";
import type { PlannedResource } from "./evaluate";
import type { K8sObject } from "../lib/k8s";

/** Input the reader cannot use: the message names the file and the document. */
export class ManifestError extends Error {}

export interface ManifestResource extends PlannedResource {
  file: string;
  document: number;
}

/** `kubernetes:apps/v1:Deployment` for apiVersion apps/v1, kind Deployment; core group as `core/v1`. */
export function pulumiType(apiVersion: string, kind: string): string {
  return `kubernetes:${apiVersion.includes("/") ? apiVersion : `core/${apiVersion}`}:${kind}`;
}

function filesUnder(p: string): string[] {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    throw new ManifestError(`${p}: no such file or directory`);
  }
  if (!st.isDirectory()) return [p];
  return fs
    .readdirSync(p)
    .sort()
    .flatMap((e) => {
      const full = path.join(p, e);
      return fs.statSync(full).isDirectory()
        ? filesUnder(full)
        : /\.(ya?ml|json)$/.test(e)
          ? [full]
          : [];
    });
}

function toResources(obj: unknown, file: string, document: number): ManifestResource[] {
  if (obj === null || obj === undefined) return [];
  const o = obj as K8sObject;
  if (typeof o !== "object" || Array.isArray(o)) {
    throw new ManifestError(
      `${file}: document ${document} is not a Kubernetes object (expected a map with apiVersion and kind)`,
    );
  }
  if (
    o.kind === "List" ||
    (typeof o.kind === "string" && o.kind.endsWith("List") && Array.isArray(o.items))
  ) {
    return (o.items as unknown[]).flatMap((item) => toResources(item, file, document));
  }
  if (typeof o.apiVersion !== "string" || typeof o.kind !== "string") {
    throw new ManifestError(`${file}: document ${document} has no apiVersion or kind`);
  }
  const name = o.metadata?.name;
  if (typeof name !== "string" || name === "") {
    throw new ManifestError(`${file}: document ${document} (${o.kind}) has no metadata.name`);
  }
  const type = pulumiType(o.apiVersion, o.kind);
  const ns = o.metadata?.namespace;
  return [
    {
      type,
      name,
      urn: `urn:pulumi:manifests::files::${type}::${ns ? `${ns}/` : ""}${name}`,
      props: o,
      file,
      document,
    },
  ];
}

/** The 1-based number of the document a 0-based line falls in. */
function documentAt(text: string, line: number): number {
  const lines = text.split("\n").slice(0, line + 1);
  let doc = 1;
  let content = false;
  for (const l of lines) {
    if (/^---(\s|$)/.test(l)) {
      if (content) doc += 1;
      content = false;
    } else if (l.trim() !== "" && !l.startsWith("#")) content = true;
  }
  return doc;
}

function parseFile(file: string, text: string): unknown[] {
  const docs: unknown[] = [];
  try {
    loadAll(text, (d) => docs.push(d), { schema: CORE_SCHEMA, filename: file });
  } catch (e) {
    if (!(e instanceof YAMLException)) throw e;
    const doc = documentAt(text, e.mark?.line ?? 0);
    throw new ManifestError(`${file}: document ${doc} is not valid YAML: ${e.reason}`);
  }
  return docs;
}

/** Every Kubernetes object in the given files and directories (.yaml, .yml, .json). */
export function readManifests(paths: string[]): ManifestResource[] {
  return paths.flatMap(filesUnder).flatMap((file) => {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (e) {
      throw new ManifestError(`${file}: cannot read: ${(e as Error).message}`);
    }
    return parseFile(file, text).flatMap((obj, i) => toResources(obj, file, i + 1));
  });
}
