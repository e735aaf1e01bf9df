import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { loadShellScript } from "../lib/shell";
import { renderRuleset, type FirewallInput } from "./firewall";
import { nodeLib, RUN_AS_ROOT, scriptStdin } from "./remote-script";

/** The kernel arguments K3s needs on a Raspberry Pi (memory cgroups are off by default there). */
export const PI_KERNEL_ARGS = "cgroup_memory=1 cgroup_enable=memory";

export const nodePrepScript = loadShellScript(__dirname, "node-prep.sh", {
  PI_CGROUPS: "required",
  NFT_RULESET: "required",
  SSH_PORT: "required",
  JOURNAL_MAX_USE: "required",
  JOURNAL_MAX_FILE: "required",
  FAIL2BAN_MAXRETRY: "required",
  FAIL2BAN_BANTIME: "required",
});
export const awaitBootScript = loadShellScript(__dirname, "node-await-boot.sh", {
  REQUIRED_KERNEL_ARGS: "optional",
});
export const rebootPauseScript = loadShellScript(__dirname, "node-reboot-pause.sh", {
  PREP_OUTPUT: "optional",
  PAUSE_SECONDS: "required",
});

export interface NodePrepArgs {
  /** SSH connection to the node (its private key is a secret). */
  connection: command.types.input.remote.ConnectionArgs;
  /** SSH port the hardened sshd keeps listening on. */
  sshPort: number;
  /** A Raspberry Pi: memory cgroup kernel arguments, with the reboot handled. */
  raspberryPi: boolean;
  /** The node's place in the cluster, for its firewall. */
  firewall: FirewallInput;
  /** journald SystemMaxUse. Defaults to "500M". */
  journalMaxUse?: string;
  /** journald SystemMaxFileSize. Defaults to "50M". */
  journalMaxFile?: string;
  /** Failed SSH logins before fail2ban bans the source. Defaults to 5. */
  fail2banMaxRetry?: number;
  /** How long a ban lasts. Defaults to "1h". */
  fail2banBanTime?: string;
  /** Seconds to wait for a rebooting node to go down before reconnecting. Defaults to 30. */
  rebootPauseSeconds?: number;
}

/**
 * Prepares and hardens one node before K3s is installed (node-prep.sh): memory cgroups on a
 * Raspberry Pi (the reboot scheduled and waited for), swap off, SSH keys-only without root,
 * the default-deny nftables firewall from firewall.ts, fail2ban for SSH, unattended security
 * upgrades and journald limits. Idempotent: a rerun changes nothing and says so. A change of any
 * input reruns the same script (`update`); it never replaces or undoes anything, and `pulumi destroy`
 * leaves the hardening in place.
 */
export class NodePrep extends pulumi.ComponentResource {
  /** Resolves when the node is prepared and runs with the kernel arguments it needs. */
  public readonly ready: pulumi.Resource;
  /** What node-prep.sh reported. */
  public readonly report: pulumi.Output<string>;

  constructor(name: string, args: NodePrepArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auditflow:cluster:NodePrep", name, {}, opts);
    if (!Number.isInteger(args.sshPort) || args.sshPort < 1 || args.sshPort > 65535)
      throw new Error(
        `NodePrep ${name}: sshPort must be a port number 1-65535, not ${args.sshPort}`,
      );
    const stdin = scriptStdin(
      nodePrepScript,
      {
        PI_CGROUPS: String(args.raspberryPi),
        NFT_RULESET: renderRuleset(args.firewall),
        SSH_PORT: String(args.sshPort),
        JOURNAL_MAX_USE: args.journalMaxUse ?? "500M",
        JOURNAL_MAX_FILE: args.journalMaxFile ?? "50M",
        FAIL2BAN_MAXRETRY: String(args.fail2banMaxRetry ?? 5),
        FAIL2BAN_BANTIME: args.fail2banBanTime ?? "1h",
      },
      [nodeLib],
    );
    const prep = new command.remote.Command(
      `${name}-prep`,
      { connection: args.connection, create: RUN_AS_ROOT, update: RUN_AS_ROOT, stdin },
      { parent: this },
    );
    const pause = new command.local.Command(
      `${name}-reboot-pause`,
      {
        create: "bash -s",
        update: "bash -s",
        stdin: rebootPauseScript.text,
        environment: rebootPauseScript.environment<pulumi.Input<string>>({
          PREP_OUTPUT: prep.stdout,
          PAUSE_SECONDS: String(args.rebootPauseSeconds ?? 30),
        }),
      },
      { parent: this, dependsOn: [prep] },
    );
    // While the node reboots the connection is refused: retry for up to 10 minutes.
    const awaitBoot = new command.remote.Command(
      `${name}-await-boot`,
      {
        connection: { ...args.connection, dialErrorLimit: 60, perDialTimeout: 10 },
        create: RUN_AS_ROOT,
        update: RUN_AS_ROOT,
        stdin: scriptStdin(awaitBootScript, {
          REQUIRED_KERNEL_ARGS: args.raspberryPi ? PI_KERNEL_ARGS : "",
        }),
        // Rerun after every prep run, which may have scheduled a reboot.
        triggers: [prep.stdout],
      },
      { parent: this, dependsOn: [pause] },
    );
    this.ready = awaitBoot;
    this.report = prep.stdout;
    this.registerOutputs({ report: this.report });
  }
}
