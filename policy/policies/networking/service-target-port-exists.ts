import { containersOf, K8sObject } from "../../lib/k8s";
import { servicesWithTargets } from "../../lib/netpol";
import { stackPolicy } from "../../lib/define";

export const serviceTargetPortExists = stackPolicy({
  name: "service-target-port-exists",
  theme: "networking",
  severity: "medium",
  rationale: "A Service port aimed at a port no pod exposes never connects.",
  link: "https://kubernetes.io/docs/concepts/services-networking/service/#defining-a-service",
  description:
    "Every Service port's targetPort exists on the pods the Service selects (by name or number).",
  fix: "set targetPort to a port name or number the selected containers declare",
  equivalents: { kubeLinter: ["dangling-service"], kubeScore: ["service-targets-pod"] },
  check: (subjects, all) =>
    servicesWithTargets(subjects, all).flatMap(({ service: r, targets }) => {
      if (targets.length === 0) return []; // service-selects-pods reports it
      const declared = targets.flatMap((g) =>
        containersOf(g.pod).flatMap(
          ({ c }) => (Array.isArray(c?.ports) ? c.ports : []) as K8sObject[],
        ),
      );
      return (Array.isArray(r.props.spec.ports) ? r.props.spec.ports : [])
        .filter((p: K8sObject) => {
          const t = p?.targetPort ?? p?.port;
          return !declared.some((d) => d?.name === t || d?.containerPort === t);
        })
        .map((p: K8sObject) => ({
          urn: r.urn,
          problem: `Service ${r.props?.metadata?.name ?? r.name} port ${p?.name ?? p?.port} targets ${JSON.stringify(p?.targetPort ?? p?.port)}, which its pods do not declare`,
        }));
    }),
});
