import { goodStack, mutated, pod, spec, violationsOf } from "./fixtures";

spec("namespace-default-deny", [
  [
    "deny-all policy missing",
    () => goodStack().filter((r) => r.name !== "default-deny"),
    /namespace apps has no default-deny NetworkPolicy/,
  ],
  [
    "deny policy that allows something",
    () =>
      mutated(
        "NetworkPolicy",
        (o) => (o.spec.ingress = [{ from: [{ podSelector: {} }] }]),
        "default-deny",
      ),
    /namespace apps has no default-deny/,
  ],
]);

spec("pod-selected-by-network-policy", [
  [
    "no policy for the pods",
    () => goodStack().filter((r) => !(r.type.endsWith(":NetworkPolicy") && r.name === "api")),
    /has pods no specific NetworkPolicy selects/,
    3,
  ],
]);

describe("pod-selected-by-network-policy and pods that need no network", () => {
  /** The good stack plus a Job with its own labels that no Service targets and no policy names. */
  const withIsolatedJob = (keepDefaultDeny: boolean) => {
    const stack = goodStack().filter((r) => keepDefaultDeny || r.name !== "default-deny");
    const job = structuredClone(stack.find((r) => r.type.endsWith(":Job"))!);
    job.name = "report";
    job.urn = job.urn.replace(/migrate$/, "report");
    job.props.metadata = { ...(job.props.metadata as object), name: "report" };
    (job.props as any).spec.template.metadata.labels = { "app.kubernetes.io/name": "report" };
    return [...stack, job];
  };

  test("a Job nobody calls, isolated by the namespace's default-deny, is not flagged", async () => {
    expect(await violationsOf("pod-selected-by-network-policy", withIsolatedJob(true))).toEqual([]);
  });

  test("the same Job is flagged when the namespace has no default-deny", async () => {
    const vs = await violationsOf("pod-selected-by-network-policy", withIsolatedJob(false));
    expect(vs.map((v) => v.message)).toEqual([
      expect.stringMatching(
        /^\[high\] Job report has pods no specific NetworkPolicy selects\. Fix: /,
      ),
    ]);
  });

  test("pods a Service targets are flagged even under default-deny: they need a named policy", async () => {
    const stack = goodStack().filter(
      (r) => !(r.type.endsWith(":NetworkPolicy") && r.name === "api"),
    );
    const vs = await violationsOf("pod-selected-by-network-policy", stack);
    expect(vs.map((v) => v.message)).toContainEqual(
      expect.stringMatching(
        /^\[high\] Deployment api has pods no specific NetworkPolicy selects and a Service sends traffic to them/,
      ),
    );
  });
});

spec("network-policy-selects-pods", [
  [
    "selector with a typo",
    () =>
      mutated(
        "NetworkPolicy",
        (o) => (o.spec.podSelector.matchLabels["app.kubernetes.io/name"] = "apii"),
        "api",
      ),
    /NetworkPolicy api selects no pods/,
  ],
]);

spec("service-selects-pods", [
  [
    "selector matches nothing",
    () => mutated("Service", (o) => (o.spec.selector = { "app.kubernetes.io/name": "nope" })),
    /Service api selects no pods/,
  ],
]);

spec("service-target-port-exists", [
  [
    "named targetPort missing",
    () => mutated("Service", (o) => (o.spec.ports[0].targetPort = "grpc")),
    /port http targets "grpc", which its pods do not declare/,
  ],
  [
    "numbered targetPort missing",
    () => mutated("Service", (o) => (o.spec.ports[0].targetPort = 9090)),
    /targets 9090/,
  ],
]);

spec("no-external-service-types", [
  [
    "NodePort",
    () => mutated("Service", (o) => (o.spec.type = "NodePort")),
    /the Service is of type NodePort/,
  ],
  [
    "LoadBalancer",
    () => mutated("Service", (o) => (o.spec.type = "LoadBalancer")),
    /of type LoadBalancer/,
  ],
]);
test("no-external-service-types honours the pack config", async () => {
  const stack = mutated("Service", (o) => (o.spec.type = "NodePort"));
  expect(await violationsOf("no-external-service-types", stack, { allowNodePort: true })).toEqual(
    [],
  );
});

spec("ingress-tls", [
  ["no TLS", () => mutated("Ingress", (o) => delete o.spec.tls), /the Ingress has no TLS section/],
  [
    "host outside TLS",
    () => mutated("Ingress", (o) => o.spec.rules.push({ host: "admin.example.org" })),
    /host admin.example.org is not covered/,
  ],
]);

test("a Deployment's pods with no own policy are found even when others exist", async () => {
  const stack = mutated("Deployment", (o) => {
    o.spec.template.metadata.labels = {
      ...o.spec.template.metadata.labels,
      "app.kubernetes.io/name": "other",
    };
    o.spec.selector.matchLabels = { "app.kubernetes.io/name": "other" };
    pod(o).topologySpreadConstraints = [];
  });
  // A Service sends traffic to the relabelled pods, so they need a policy of their own.
  const service = stack.find((r) => r.type.endsWith(":Service"))!;
  (service.props as any).spec.selector = { "app.kubernetes.io/name": "other" };
  const vs = await violationsOf("pod-selected-by-network-policy", stack);
  expect(vs.map((v) => v.resource.name)).toEqual(["api"]);
});
