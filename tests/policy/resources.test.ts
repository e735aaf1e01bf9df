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
    // 40 replicas + 1 surge pod fill both nodes' memory next to the fixture's other pods; the last
    // two and the fixture's Job (placed after the larger pods) fit nowhere.
    expect(vs.map((v) => v.message)).toEqual([
      expect.stringMatching(
        /Deployment api: 2 of 41 pod\(s\) fit on no node \(each requests 100m CPU, 128Mi memory; left on its eligible nodes after placing larger pods first: pi \(arm64\) 700m CPU, 0Mi; pc \(amd64\) 300m CPU, 0Mi\)/,
      ),
      expect.stringMatching(/Job migrate: 1 of 1 pod\(s\) fit on no node/),
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
    // 2 replicas + 1 surge pod of 1 CPU each; the amd64 node has 1500m allocatable.
    expect(vs.map((v) => v.message)).toEqual([
      expect.stringMatching(
        /Deployment api: 2 of 3 pod\(s\) fit on no node \(each requests 1000m CPU, .*pc \(amd64\) 500m CPU/,
      ),
    ]);
  });
  test("pods must fit one node each: free room split across nodes does not count", async () => {
    // Two amd64 nodes with 1500m CPU allocatable each: 3000m in total, enough for three 1000m pods
    // by the sum, but each node holds only one of them.
    const twoPcs = {
      ...config,
      nodes: [
        { name: "pc1", arch: "amd64", cpu: 2, memory: "4Gi" },
        { name: "pc2", arch: "amd64", cpu: 2, memory: "4Gi" },
      ],
    };
    const vs = await violationsOf(
      "stack-capacity-fits",
      mutated("Deployment", (o) => {
        o.spec.replicas = 2;
        pod(o).containers[0].resources.requests.cpu = "1";
      }),
      twoPcs,
    );
    expect(vs.map((v) => v.message)).toEqual([
      expect.stringMatching(/Deployment api: 1 of 3 pod\(s\) fit on no node/),
    ]);
  });
  test("a stack that fits only for some of the scheduler's random picks among equally scored nodes is reported as such", async () => {
    // "a" (2 CPU, 256Mi) fills the CPU of whichever node it lands on, and both nodes score 99 for it
    // (LeastAllocated 37 + BalancedAllocation 62 on the 1Gi node, 45 + 54 on the 3Gi one), so the
    // scheduler picks one at random. "b" (1 CPU, 1536Mi) then fits only on the 3Gi node, and only
    // if "a" went to the other.
    const nodes2 = [
      { name: "n1", arch: "amd64", cpu: 2, memory: "1Gi" },
      { name: "n2", arch: "amd64", cpu: 2, memory: "3Gi" },
    ];
    const one = (name: string, cpu: string, memory: string) => ({
      urn: `urn:pulumi:test::fixture::kubernetes:apps/v1:Deployment::${name}`,
      type: "kubernetes:apps/v1:Deployment",
      name,
      props: {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name, namespace: "apps", labels: { app: name } },
        spec: {
          replicas: 1,
          strategy: { type: "Recreate" },
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: {
              containers: [{ name: "app", image: "x", resources: { requests: { cpu, memory } } }],
            },
          },
        },
      },
    });
    const config2 = { nodes: nodes2, reservedPerNode: { cpu: "0", memory: "0" } };
    const vs = await violationsOf(
      "stack-capacity-fits",
      [one("a", "2", "256Mi"), one("b", "1", "1536Mi")],
      config2,
    );
    expect(vs.map((v) => v.message)).toEqual([
      expect.stringMatching(
        /Deployment b: whether all 1 pod\(s\) fit depends on which of equally scored nodes kube-scheduler picks \(it picks at random\): with some picks 1 pod\(s\) fit on no node/,
      ),
    ]);
    // With room for "b" next to "a" on the 3Gi node, every pick fits.
    expect(
      await violationsOf("stack-capacity-fits", [one("a", "2", "256Mi"), one("b", "1", "1536Mi")], {
        ...config2,
        nodes: [nodes2[0]!, { ...nodes2[1]!, cpu: 3 }],
      }),
    ).toEqual([]);
  });
  test("DaemonSets count once per eligible node", async () => {
    const stack = goodStack();
    const ds = structuredClone(stack.find((r) => r.name === "api")!);
    ds.type = "kubernetes:apps/v1:DaemonSet";
    ds.urn = ds.urn.replace("Deployment", "DaemonSet");
    (ds.props as any).kind = "DaemonSet";
    (ds.props as any).spec.template.spec.containers[0].resources.requests.memory = "3Gi";
    const vs = await violationsOf("stack-capacity-fits", [...stack, ds], config);
    // 3Gi on each node: the 2Gi node (1.5Gi allocatable) cannot hold its copy.
    expect(vs.map((v) => v.message)).toEqual([
      expect.stringMatching(/DaemonSet api: 1 of 2 pod\(s\) fit on no node .*pc \(amd64\)/),
    ]);
  });
  test("an autoscaled Deployment counts at its maximum plus the rolling update's surge", async () => {
    // 7 pods at the maximum + 1 surge pod, 1 CPU each, on the 1.5-CPU amd64 node.
    const pinned = (o: any) => {
      pod(o).nodeSelector = { "kubernetes.io/arch": "amd64" };
      pod(o).containers[0].resources.requests.cpu = "1";
    };
    const vs = await violationsOf("stack-capacity-fits", autoscaled(1, 7, pinned), config);
    expect(vs.map((v) => v.message)).toEqual([
      expect.stringMatching(/Deployment api: 7 of 8 pod\(s\) fit on no node/),
    ]);
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
    expect(vs.map((v) => v.message)).toEqual([
      expect.stringMatching(/Deployment api: 6 of 7 pod\(s\) fit on no node/),
    ]);
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
