/**
 * Property-based tests (fast-check) of the arithmetic and parsing the platform relies on:
 * quantities, the quota a rolling update needs, Redis's memory headroom, and the cron, age-key and
 * DNS-1123 label patterns. Each property runs on a hundred generated cases (fast-check's default).
 */
import fc from "fast-check";
import { bytes, cpuMillis, parseQuantity } from "../../shared/quantity";
import {
  ageRecipientPattern,
  cronPattern,
  dns1123LabelPattern,
} from "../../components/lib/formats";
import {
  REDIS_MAXMEMORY_SHARE,
  redisBytes,
  redisMaxMemoryFits,
} from "../../components/data/redis-config";
import { quotaFits, rolloutDemand } from "../../infra/schema-rules";
import type { ServiceSpec } from "../../infra/schema";

const BINARY = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 } as const;
const DECIMAL = { k: 1e3, M: 1e6, G: 1e9, T: 1e12 } as const;

describe("quantities", () => {
  test("a whole number with a binary or decimal suffix is that many units, in the program and the pack alike", () => {
    const suffix = fc.constantFrom(...Object.keys(BINARY), ...Object.keys(DECIMAL), "");
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4096 }), suffix, (n, s) => {
        const factor =
          (BINARY as Record<string, number>)[s] ?? (DECIMAL as Record<string, number>)[s] ?? 1;
        expect(bytes(`${n}${s}`)).toBe(n * factor);
        expect(parseQuantity(`${n}${s}`)).toBe(n * factor);
      }),
    );
  });

  test("millicores and cores name the same CPU", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 64_000 }), (m) => {
        expect(cpuMillis(`${m}m`)).toBe(m);
        expect(Math.round(parseQuantity(`${m}m`)! * 1000)).toBe(m);
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 999 }), (c, frac) => {
        const cores = `${c}.${String(frac).padStart(3, "0")}`;
        expect(cpuMillis(cores)).toBe(c * 1000 + frac);
      }),
    );
  });

  test("the strict parsers refuse, and the pack's parser returns undefined for, anything that is not a quantity", () => {
    const notQuantity = fc
      .string({ minLength: 1, maxLength: 8 })
      .filter((s) => !/^[+-]?\d+(\.\d+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.test(s.trim()));
    fc.assert(
      fc.property(notQuantity, (s) => {
        expect(parseQuantity(s)).toBeUndefined();
        expect(() => bytes(s)).toThrow(/is not a memory or storage quantity/);
        expect(() => cpuMillis(s)).toThrow(/is not a CPU quantity/);
      }),
    );
  });
});

/** A service of the apps namespace with generated size and replicas (or an autoscaling maximum). */
const service = fc
  .record({
    replicas: fc.integer({ min: 1, max: 20 }),
    maxReplicas: fc.option(fc.integer({ min: 2, max: 20 }), { nil: undefined }),
    cpu: fc.integer({ min: 1, max: 2000 }),
    cpuLimit: fc.integer({ min: 0, max: 2000 }),
    memMi: fc.integer({ min: 1, max: 2048 }),
    memLimitMi: fc.integer({ min: 0, max: 2048 }),
  })
  .map(
    (g): ServiceSpec =>
      ({
        name: "audit-log-analysis",
        ...(g.maxReplicas === undefined
          ? { replicas: g.replicas }
          : { autoscaling: { minReplicas: 1, maxReplicas: g.maxReplicas, targetCpuPercent: 70 } }),
        resources: {
          requests: { cpu: `${g.cpu}m`, memory: `${g.memMi}Mi` },
          limits: { cpu: `${g.cpu + g.cpuLimit}m`, memory: `${g.memMi + g.memLimitMi}Mi` },
        },
      }) as ServiceSpec,
  );

describe("quota fit during rolling updates", () => {
  test("the demand is every service at its peak plus one surge pod", () => {
    fc.assert(
      fc.property(fc.array(service, { minLength: 1, maxLength: 6 }), (services) => {
        const peak = (s: ServiceSpec) => (s.autoscaling?.maxReplicas ?? s.replicas!) + 1;
        const need = rolloutDemand(services);
        expect(need.pods).toBe(services.reduce((a, s) => a + peak(s), 0));
        expect(need.requestsCpu).toBe(
          services.reduce((a, s) => a + peak(s) * cpuMillis(s.resources.requests.cpu), 0),
        );
        expect(need.limitsMemory).toBe(
          services.reduce((a, s) => a + peak(s) * bytes(s.resources.limits.memory), 0),
        );
      }),
    );
  });

  test("a quota equal to the demand fits; one unit less is reported on exactly that key", () => {
    const keys = ["requestsCpu", "limitsCpu", "requestsMemory", "limitsMemory", "pods"] as const;
    fc.assert(
      fc.property(
        fc.array(service, { minLength: 1, maxLength: 6 }),
        fc.constantFrom(...keys),
        (services, short) => {
          const need = rolloutDemand(services);
          const quota = {
            requestsCpu: `${need.requestsCpu - (short === "requestsCpu" ? 1 : 0)}m`,
            limitsCpu: `${need.limitsCpu - (short === "limitsCpu" ? 1 : 0)}m`,
            requestsMemory: `${need.requestsMemory - (short === "requestsMemory" ? 1 : 0)}`,
            limitsMemory: `${need.limitsMemory - (short === "limitsMemory" ? 1 : 0)}`,
            pods: need.pods - (short === "pods" ? 1 : 0),
          };
          const exact = { ...quota, [short]: short === "pods" ? need.pods : String(need[short]) };
          if (short === "requestsCpu" || short === "limitsCpu") exact[short] = `${need[short]}m`;
          const reported = (q: typeof quota) => {
            const keysHit: string[] = [];
            quotaFits(services, q, (path) => keysHit.push(String(path[3])));
            return keysHit;
          };
          expect(reported(exact)).toEqual([]);
          expect(reported(quota)).toEqual([short]);
        },
      ),
    );
  });
});

describe("Redis headroom", () => {
  test(`maxmemory fits exactly when it is at most ${REDIS_MAXMEMORY_SHARE * 100}% of the memory limit`, () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8192 }),
        fc.integer({ min: 1, max: 8192 }),
        (maxMb, limitMi) => {
          expect(redisMaxMemoryFits(`${maxMb}mb`, `${limitMi}Mi`)).toBe(
            maxMb <= limitMi * REDIS_MAXMEMORY_SHARE,
          );
        },
      ),
    );
  });

  test("Redis's mb and Kubernetes's Mi are the same size", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65536 }), (n) => {
        expect(redisBytes(`${n}mb`)).toBe(bytes(`${n}Mi`));
        expect(redisBytes(`${n}MB`)).toBe(bytes(`${n}Mi`));
      }),
    );
  });
});

describe("cron and age-key patterns", () => {
  const field = fc.stringMatching(/^[0-9*/,-]{1,6}$/);
  const space = fc.constantFrom(" ", "  ", "\t");

  test("a cron schedule is exactly five fields separated by white space", () => {
    fc.assert(
      fc.property(fc.array(field, { minLength: 1, maxLength: 8 }), space, (fields, sep) => {
        expect(cronPattern.test(fields.join(sep))).toBe(fields.length === 5);
      }),
    );
  });

  const BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
  const key = fc.string({ unit: fc.constantFrom(...BECH32), minLength: 58, maxLength: 58 });

  test("an age public key is age1 and 58 bech32 characters", () => {
    fc.assert(fc.property(key, (k) => expect(ageRecipientPattern.test(`age1${k}`)).toBe(true)));
  });

  test("an age key with a character outside bech32, or of another length, is refused", () => {
    fc.assert(
      fc.property(
        key,
        fc.integer({ min: 0, max: 57 }),
        fc.constantFrom("b", "i", "o", "1", "A", "-"),
        (k, at, bad) => {
          expect(ageRecipientPattern.test(`age1${k.slice(0, at)}${bad}${k.slice(at + 1)}`)).toBe(
            false,
          );
        },
      ),
    );
    fc.assert(
      fc.property(key, fc.integer({ min: 1, max: 57 }), (k, cut) => {
        expect(ageRecipientPattern.test(`age1${k.slice(cut)}`)).toBe(false);
        expect(ageRecipientPattern.test(`age1${k}${k.slice(0, cut)}`)).toBe(false);
      }),
    );
  });
});

describe("DNS-1123 labels", () => {
  const ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789";
  const alnum = fc.constantFrom(...ALNUM);
  const inner = fc.string({ unit: fc.constantFrom(...ALNUM, "-"), maxLength: 61 });
  /** A label by construction: lower-case alphanumeric ends, '-' allowed inside, 1 to 63 long. */
  const label = fc.oneof(
    alnum,
    fc.tuple(alnum, inner, alnum).map(([a, mid, b]) => `${a}${mid}${b}`),
  );

  test("lower-case letters, digits and inner hyphens, 1 to 63 characters, are a label", () => {
    fc.assert(fc.property(label, (l) => expect(dns1123LabelPattern.test(l)).toBe(true)));
  });

  test("a hyphen at either end, an upper-case letter, another character or a 64th is refused", () => {
    fc.assert(
      fc.property(label, fc.constantFrom("-", "A", "_", ".", " "), (l, bad) => {
        expect(dns1123LabelPattern.test(`-${l}`)).toBe(false);
        expect(dns1123LabelPattern.test(`${l}-`)).toBe(false);
        if (bad !== "-") expect(dns1123LabelPattern.test(`${l}${bad}${l}`)).toBe(false);
      }),
    );
    fc.assert(
      fc.property(label, (l) => {
        const long = l.repeat(Math.ceil(64 / l.length)).slice(0, 64);
        expect(dns1123LabelPattern.test(long)).toBe(false);
      }),
    );
  });
});
