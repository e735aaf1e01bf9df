import { containersOf } from "../../lib/k8s";
import { parseQuantity } from "../../../shared/quantity";
import { resourcePolicy } from "../../lib/define";

export const limitsNotBelowRequests = resourcePolicy({
  name: "limits-not-below-requests",
  theme: "resources",
  severity: "high",
  rationale: "A limit below its request is rejected by the API server.",
  link: "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/#requests-and-limits",
  description: "No container's limit is below its request (the API server would reject the pod).",
  fix: "raise the limit to at least the request, or lower the request",
  equivalents: { kubeScore: ["container-resources"] },
  workloads: true,
  check: ({ workload }) =>
    containersOf(workload.pod).flatMap(({ c, label }) =>
      ["cpu", "memory", "ephemeral-storage"].flatMap((res) => {
        const req = parseQuantity(c?.resources?.requests?.[res]);
        const lim = parseQuantity(c?.resources?.limits?.[res]);
        return req !== undefined && lim !== undefined && lim < req
          ? [
              `${label} has ${res} limit ${c.resources.limits[res]} below its request ${c.resources.requests[res]}`,
            ]
          : [];
      }),
    ),
});
