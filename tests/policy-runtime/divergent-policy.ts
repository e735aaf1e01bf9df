/**
 * A policy that reads a key the engine never sends (internal keys starting with "__" are stripped
 * from the properties it marshals). It exists to prove the real-runtime tier catches a policy whose
 * offline result differs from the runtime's.
 */
import { resourcePolicy } from "../../policy/lib/define";

export const readsInternal = resourcePolicy({
  name: "reads-internal-key",
  theme: "metadata",
  description: "Reads a key the engine never sends.",
  fix: "do not read internal keys",
  equivalents: {},
  severity: "low",
  rationale: "A test fixture: it proves the runtime tier catches a divergent policy.",
  link: "https://www.pulumi.com/docs/iac/using-pulumi/crossguard/",
  check: ({ props }) => (props.__defaults ? ["the object has internal defaults"] : []),
});
