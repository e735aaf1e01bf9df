import { annotatedExemptions, EXEMPT_REASON_ANNOTATION, resourcePolicy } from "../../lib/define";

/**
 * Lists every annotation exemption as an advisory notice, so a reviewer sees each one in the
 * engine's output too. Keep this policy advisory in every stack.
 */
export const exemptionsListed = resourcePolicy({
  name: "exemptions-listed",
  theme: "metadata",
  severity: "low",
  rationale: "Listing every exemption keeps the exceptions visible to reviewers.",
  link: "https://kubernetes.io/docs/concepts/overview/working-with-objects/annotations/",
  description:
    "Lists every exemption with its reason, so none is silent (advisory notice, never blocks).",
  fix: "nothing to fix: review that the reason still holds",
  equivalents: {},
  check: ({ props }) => {
    const exempt = annotatedExemptions(props);
    const reason = props.metadata?.annotations?.[EXEMPT_REASON_ANNOTATION];
    return exempt.length && typeof reason === "string" && reason.trim() !== ""
      ? [`exempt from ${exempt.join(", ")}: ${reason}`]
      : [];
  },
});
