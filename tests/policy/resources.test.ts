import { autoscaled, goodStack, mutated, pod, spec, violationsOf } from "./fixtures";

spec("cpu-requests-and-limits", [
  [
    "no CPU request",
    () => mutated("Deployment", (o) => delete pod(o).containers[0].resources.requests.cpu),
    /container "app" has no CPU request/,
  ],
  [
    "no CPU limit",
    () => mutated("Deployment", (o) => delete pod(o).containers[0].resources.limits.cpu),
    /container "app" has no CPU limit/,
  ],
  [
    "init container without resources",
    () =>
      mutated("Job", (o) => (pod(o).initContainers = [{ name: "wait", image: "ghcr.io/x/y:1" }])),
    /init container "wait" has no CPU (request|limit)/,
    2,
  ],
]);

spec("memory-requests-and-limits", [
  [
    "no memory request",
    () => mutated("Deployment", (o) => delete pod(o).containers[0].resources.requests.memory),
    /container "app" has no memory request/,
  ],
  [
    "no memory limit",
    () => mutated("CronJob", (o) => delete pod(o).containers[0].resources.limits.memory),
    /container "app" has no memory limit/,
  ],
]);

spec("limits-not-below-requests", [
  [
    "cpu limit below request",
    () => mutated("Deployment", (o) => (pod(o).containers[0].resources.limits.cpu = "50m")),
    /cpu limit 50m below its request 100m/,
  ],
  [
    "memory limit below request",
    () => mutated("Deployment", (o) => (pod(o).containers[0].resources.limits.memory = "0.1Gi")),
    /memory limit 0.1Gi below its request 128Mi/,
  ],
]);

describe("ephemeral-storage-limits (opt-in)", () => {
  test("flags containers without ephemeral-storage when enabled", async () => {
    const vs = await violationsOf("ephemeral-storage-limits", goodStack());
    // The good fixture sets none: the Deployment's, the Job's and the CronJob's containers report it.
    expect(vs.map((v) => v.resource.name).sort()).toEqual(["api", "backup", "migrate"]);
    expect(vs[0]!.message).toMatch(/container "app" has no ephemeral-storage request and limit/);
  });
  test("passes once requests and limits are set", async () => {
    const stack = goodStack().filter((r) => !/:(Job|CronJob)$/.test(r.type));
    const dep = stack.find((r) => r.type.endsWith(":Deployment"))!;
    const c = (dep.props as any).spec.template.spec.containers[0];
    c.resources.requests["ephemeral-storage"] = "64Mi";
    c.resources.limits["ephemeral-storage"] = "128Mi";
    expect(await violationsOf("ephemeral-storage-limits", stack)).toEqual([]);
  });
});

describe("stack-capacity-fits", () => {
  const nodes = [
    { name: "pi", arch: "arm64", cpu: 4, memory: "4Gi" },
    { name: "pc", arch: "amd64", cpu: 2, memory: "2Gi" },
  ];
  const config = { nodes, reservedPerNode: { cpu: "500m", memory: "512Mi" } };
  test("the fixture fits", async () => {
    expect(await violationsOf("stack-capacity-fits", goodStack(), config)).toEqual([]);
  });
  test("replicas beyond the cluster's memory fail", async () => {
    const vs = await violationsOf(
      "stack-capacity-fits",
      mutated("Deployment", (o) => {
        o.spec.replicas = 40;
      }),
      config,
    );
    expect(vs.map((v) => v.message)).toEqual([
      expect.stringMatching(/the whole cluster: memory requests 5504Mi exceed allocatable 5120Mi/),
    ]);
  });
  test("a workload pinned to one architecture must fit that architecture's nodes", async () => {
    const vs = await violationsOf(
      "stack-capacity-fits",
      mutated("Deployment", (o) => {
        pod(o).nodeSelector = { "kubernetes.io/arch": "amd64" };
        pod(o).containers[0].resources.requests.cpu = "1";
      }),
      config,
    );
    expect(vs.map((v) => v.message)).toEqual([
      expect.stringMatching(/amd64 nodes: CPU requests 3000m exceed allocatable 1500m/),
    ]);
  });
  test("DaemonSets count once per eligible node", async () => {
    const stack = goodStack();
    const ds = structuredClone(stack.find((r) => r.name === "api")!);
    ds.type = "kubernetes:apps/v1:DaemonSet";
    ds.urn = ds.urn.replace("Deployment", "DaemonSet");
    (ds.props as any).kind = "DaemonSet";
    (ds.props as any).spec.template.spec.containers[0].resources.requests.memory = "3Gi";
    const vs = await violationsOf("stack-capacity-fits", [...stack, ds], config);
    // 3Gi on each of 2 nodes = 6Gi, plus the fixture's 640Mi (the Deployment's 2 pods and its surge
    // pod, the Job, the CronJob), against 5Gi allocatable.
    expect(vs.map((v) => v.message)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /the whole cluster: memory requests 6784Mi exceed allocatable 5120Mi/,
        ),
      ]),
    );
  });
  test("an autoscaled Deployment counts at its maximum plus the rolling update's surge", async () => {
    // 7 pods at the maximum + 1 surge pod, 1 CPU each, on the 1.5-CPU amd64 node.
    const pinned = (o: any) => {
      pod(o).nodeSelector = { "kubernetes.io/arch": "amd64" };
      pod(o).containers[0].resources.requests.cpu = "1";
    };
    const vs = await violationsOf("stack-capacity-fits", autoscaled(1, 7, pinned), config);
    expect(vs.map((v) => v.message)).toContainEqual(
      expect.stringMatching(/amd64 nodes: CPU requests 8000m exceed allocatable 1500m/),
    );
  });
  test("a surge given as a percent rounds up", async () => {
    const vs = await violationsOf(
      "stack-capacity-fits",
      autoscaled(1, 5, (o) => {
        pod(o).nodeSelector = { "kubernetes.io/arch": "amd64" };
        pod(o).containers[0].resources.requests.cpu = "1";
        o.spec.strategy.rollingUpdate.maxSurge = "25%";
      }),
      config,
    );
    // 5 + ceil(1.25) = 7 pods.
    expect(vs.map((v) => v.message)).toContainEqual(
      expect.stringMatching(/amd64 nodes: CPU requests 7000m exceed allocatable 1500m/),
    );
  });
  test("a workload no declared node can run is reported", async () => {
    const vs = await violationsOf(
      "stack-capacity-fits",
      mutated("Deployment", (o) => (pod(o).nodeSelector = { "kubernetes.io/arch": "riscv64" })),
      config,
    );
    expect(vs.map((v) => v.message)).toEqual([
      expect.stringMatching(/Deployment api can run on no declared node/),
    ]);
  });
});
