import {
  annotatedExemptions,
  EXEMPT_ANNOTATION,
  EXEMPT_REASON_ANNOTATION,
  resourcePolicy,
} from "../../lib/define";

export const exemptionHasReason = resourcePolicy({
  name: "exemption-has-reason",
  theme: "metadata",
  severity: "medium",
  rationale: "An exemption without a reason cannot be reviewed or revisited.",
  link: "https://kubernetes.io/docs/concepts/overview/working-with-objects/annotations/",
  description: `An exemption annotation (${EXEMPT_ANNOTATION}) comes with a non-empty ${EXEMPT_REASON_ANNOTATION}; without one the exemption does not apply.`,
  fix: `add the ${EXEMPT_REASON_ANNOTATION} annotation explaining why the object cannot comply`,
  equivalents: {},
  check: ({ props }) => {
    const exempt = annotatedExemptions(props);
    const reason = props.metadata?.annotations?.[EXEMPT_REASON_ANNOTATION];
    return exempt.length && (typeof reason !== "string" || reason.trim() === "")
      ? [
          `the object is exempted from ${exempt.join(", ")} without a reason, so the exemption is ignored`,
        ]
      : [];
  },
});
