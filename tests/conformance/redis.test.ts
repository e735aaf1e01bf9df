/** redis-server with the generated redis.conf: auth required, maxmemory and the eviction policy hold. */
import { ChildProcess, execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { redisAuthConf, redisConf } from "../../components/data/redis-config";
import {
  freePort,
  patchOnce,
  requireBinary,
  startAs,
  stop,
  tempDirFor,
  waitFor,
  writeFor,
} from "./servers";

const PASSWORD = "redis-Secret-9";
const cli = requireBinary("/usr/bin/redis-cli", "redis-tools");
let dir: string;
let port: number;
let server: ChildProcess | undefined;

/** Runs redis-cli; `password: null` connects without authenticating. */
function redis(args: string[], password: string | null = PASSWORD): string {
  return execFileSync(
    cli,
    [
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "--no-auth-warning",
      ...(password ? ["-a", password] : []),
      ...args,
    ],
    {
      encoding: "utf8",
      timeout: 10_000,
    },
  ).trim();
}

beforeAll(async () => {
  dir = tempDirFor("redis", "redis-conformance-");
  port = await freePort();
  const conf = path.join(dir, "redis.conf");
  const auth = path.join(dir, "auth.conf");
  writeFor(
    "redis",
    conf,
    patchOnce(
      redisConf({
        maxMemory: "2mb",
        maxMemoryPolicy: "allkeys-lru",
        persistence: "none",
        port,
        authInclude: auth,
        dir,
      }),
      "bind 0.0.0.0",
      "bind 127.0.0.1",
    ),
  );
  writeFor("redis", auth, redisAuthConf(PASSWORD));
  server = startAs(
    "redis",
    requireBinary("/usr/bin/redis-server", "redis-server"),
    [conf],
    path.join(dir, "redis.log"),
  );
  await waitFor("redis to answer PING", () => redis(["PING"]) === "PONG");
}, 60_000);

afterAll(async () => {
  await stop(server);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}, 30_000);

test("commands without the password are refused", () => {
  expect(redis(["SET", "k", "v"], null)).toMatch(/NOAUTH Authentication required/);
  // redis-cli reports the failed AUTH on stderr; the command itself is then refused.
  expect(redis(["PING"], "wrong")).toMatch(/NOAUTH Authentication required/);
});

test("maxmemory and the eviction policy are the generated ones", () => {
  const info = redis(["INFO", "memory"]);
  expect(info).toMatch(/maxmemory:2097152/);
  expect(info).toMatch(/maxmemory_policy:allkeys-lru/);
});

test("dangerous admin commands are disabled", () => {
  expect(redis(["CONFIG", "GET", "maxmemory"])).toMatch(/unknown command/);
  expect(redis(["FLUSHALL"])).toMatch(/unknown command/);
});

test("writing past maxmemory evicts old keys instead of failing", () => {
  const value = "x".repeat(10_000);
  for (let i = 0; i < 600; i++) redis(["SET", `key:${i}`, value]);
  const keys = Number(redis(["DBSIZE"]));
  expect(keys).toBeGreaterThan(0);
  expect(keys).toBeLessThan(600);
  expect(Number(/evicted_keys:(\d+)/.exec(redis(["INFO", "stats"]))![1])).toBeGreaterThan(0);
  expect(Number(/used_memory:(\d+)/.exec(redis(["INFO", "memory"]))![1])).toBeLessThanOrEqual(
    2097152 * 1.1,
  );
});
