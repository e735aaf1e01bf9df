import { goodStack, mutated, pod, spec, violationsOf } from "./fixtures";

spec("rbac-no-wildcards", [
  [
    "wildcard verbs",
    () => mutated("Role", (o) => (o.rules[0].verbs = ["*"])),
    /rule 0 uses \* in verbs/,
  ],
  [
    "wildcard resources and groups",
    () =>
      mutated("Role", (o) => {
        o.rules[0].resources = ["*"];
        o.rules[0].apiGroups = ["*"];
      }),
    /rule 0 uses \* in (apiGroups|resources)/,
    2,
  ],
]);

spec("no-cluster-admin-binding", [
  [
    "binding to cluster-admin",
    () =>
      mutated(
        "RoleBinding",
        (o) =>
          (o.roleRef = {
            apiGroup: "rbac.authorization.k8s.io",
            kind: "ClusterRole",
            name: "cluster-admin",
          }),
      ),
    /binds the all-powerful ClusterRole cluster-admin/,
  ],
]);

describe("no-cluster-admin-binding with a home-made wildcard ClusterRole", () => {
  test("binding a ClusterRole with * on * fails", async () => {
    const stack = goodStack();
    const role = structuredClone(
      stack.find((r) => r.name === "reader" && r.type.endsWith(":Role"))!,
    );
    role.type = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole";
    role.urn += "-cluster";
    (role.props as any).kind = "ClusterRole";
    (role.props as any).metadata = { name: "god", labels: (role.props as any).metadata.labels };
    (role.props as any).rules = [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }];
    const binding = stack.find((r) => r.type.endsWith(":RoleBinding"))!;
    (binding.props as any).roleRef = {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: "god",
    };
    const vs = await violationsOf("no-cluster-admin-binding", [...stack, role]);
    expect(vs.map((v) => v.message)).toEqual([
      expect.stringMatching(/binds the all-powerful ClusterRole god/),
    ]);
  });
});

describe("no-cluster-wide-secret-read", () => {
  const clusterRole = (rules: unknown[]) => ({
    urn: "urn:pulumi:test::fixture::kubernetes:rbac.authorization.k8s.io/v1:ClusterRole::reader",
    type: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
    name: "reader",
    props: { kind: "ClusterRole", metadata: { name: "reader" }, rules },
  });
  test("a ClusterRole reading configmaps passes", async () => {
    expect(
      await violationsOf("no-cluster-wide-secret-read", [
        clusterRole([{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }]),
      ]),
    ).toEqual([]);
  });
  test("a ClusterRole listing secrets fails", async () => {
    const vs = await violationsOf("no-cluster-wide-secret-read", [
      clusterRole([{ apiGroups: [""], resources: ["secrets"], verbs: ["list"] }]),
    ]);
    expect(vs).toHaveLength(1);
    expect(vs[0]!.message).toMatch(/rule 0 lets the subject read Secrets cluster-wide/);
  });
});

spec("no-risky-rbac-verbs", [
  [
    "pods/exec",
    () =>
      mutated("Role", (o) =>
        o.rules.push({ apiGroups: [""], resources: ["pods/exec"], verbs: ["create"] }),
      ),
    /rule 1 lets the subject exec into pods/,
  ],
  [
    "create pods",
    () =>
      mutated("Role", (o) =>
        o.rules.push({ apiGroups: [""], resources: ["pods"], verbs: ["create"] }),
      ),
    /rule 1 lets the subject create pods/,
  ],
  [
    "impersonate",
    () =>
      mutated("Role", (o) =>
        o.rules.push({ apiGroups: [""], resources: ["serviceaccounts"], verbs: ["impersonate"] }),
      ),
    /impersonate service accounts/,
  ],
  [
    "escalate",
    () =>
      mutated("Role", (o) =>
        o.rules.push({
          apiGroups: ["rbac.authorization.k8s.io"],
          resources: ["roles"],
          verbs: ["escalate"],
        }),
      ),
    /escalate or bind roles/,
  ],
]);

spec("no-default-service-account", [
  [
    "no service account",
    () => mutated("Deployment", (o) => delete pod(o).serviceAccountName),
    /runs as the default ServiceAccount/,
  ],
  [
    "explicit default",
    () => mutated("CronJob", (o) => (pod(o).serviceAccountName = "default")),
    /runs as the default ServiceAccount/,
  ],
]);

spec("service-account-token-automount", [
  [
    "pod mounts a token",
    () => mutated("Deployment", (o) => (pod(o).automountServiceAccountToken = true)),
    /the pod mounts a ServiceAccount token it does not need/,
  ],
  [
    "pod inherits the default ServiceAccount's token",
    () =>
      mutated("Deployment", (o) => {
        delete pod(o).automountServiceAccountToken;
        delete pod(o).serviceAccountName;
      }),
    /the pod mounts the default ServiceAccount's token it does not need/,
  ],
  [
    "ServiceAccount mounts by default",
    () => mutated("ServiceAccount", (o) => delete o.automountServiceAccountToken),
    /the ServiceAccount mounts its token/,
  ],
]);
test("service-account-token-automount does not flag a pod that inherits its own ServiceAccount's 'off'", async () => {
  // The pod leaves the setting to api-sa, which disables automount: no token is mounted.
  const stack = mutated("Deployment", (o) => delete pod(o).automountServiceAccountToken);
  expect(await violationsOf("service-account-token-automount", stack)).toEqual([]);
});

test("service-account-token-automount allows pods labelled for API access", async () => {
  const stack = mutated("Deployment", (o) => {
    pod(o).automountServiceAccountToken = true;
    o.spec.template.metadata.labels["auditflow.dev/api-access"] = "true";
  });
  expect(await violationsOf("service-account-token-automount", stack)).toEqual([]);
});
