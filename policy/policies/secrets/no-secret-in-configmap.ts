import { SECRET_NAME } from "../../lib/secrets";
import { resourcePolicy } from "../../lib/define";

export const noSecretInConfigmap = resourcePolicy({
  name: "no-secret-in-configmap",
  theme: "secrets",
  severity: "high",
  rationale:
    "ConfigMaps are not access-controlled like Secrets, so their values leak to anyone who can read config.",
  link: "https://kubernetes.io/docs/concepts/security/secrets-good-practices/",
  description:
    "ConfigMaps hold no secret-looking keys (ConfigMaps are readable by anyone who can read the namespace's config).",
  fix: "move the key into a Secret and mount or reference that instead",
  equivalents: {},
  kinds: ["ConfigMap"],
  check: ({ props }) =>
    Object.keys({ ...(props.data ?? {}), ...(props.binaryData ?? {}) })
      .filter((k) => SECRET_NAME.test(k))
      .map((k) => `key ${k} looks like a secret`),
});
