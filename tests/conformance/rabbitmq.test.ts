/**
 * rabbitmq-server with the generated rabbitmq.conf and definitions: the generator can publish but not
 * consume, analysis can consume its queue but not publish, and a rejected message is dead-lettered.
 */
import * as amqp from "amqplib";
import { execFileSync } from "child_process";
import {
  DEAD_LETTER_QUEUE,
  EVENTS_EXCHANGE,
  VHOST,
} from "../../components/messaging/rabbitmq-config";
import { RabbitServer, startRabbitMQ, waitFor } from "./servers";

const users = [
  {
    service: "audit-event-generator",
    name: "audit_event_generator",
    publishes: true,
    password: "gen-Secret-1",
  },
  {
    service: "audit-log-analysis",
    name: "audit_log_analysis",
    publishes: false,
    consumes: "audit.analysis",
    password: "ana-Secret-2",
  },
  {
    service: "notification-service",
    name: "notification_service",
    publishes: false,
    consumes: "audit.notifications",
    password: "not-Secret-3",
  },
];
const queues = [
  { name: "audit.analysis", bindingKey: "audit.#" },
  { name: "audit.notifications", bindingKey: "audit.alert.#" },
];

let dir: string;
let port: number;
let rabbit: RabbitServer | undefined;
const url = (u: (typeof users)[number]) =>
  `amqp://${u.name}:${u.password}@127.0.0.1:${port}/${VHOST}`;
const [generator, analysis, notification] = users as [
  (typeof users)[0],
  (typeof users)[1],
  (typeof users)[2],
];

/** Opens a channel and reports the broker's refusal (channel error) as a rejected promise. */
async function channel(
  u: (typeof users)[number],
): Promise<{ conn: amqp.ChannelModel; ch: amqp.ConfirmChannel }> {
  const conn = await amqp.connect(url(u));
  conn.on("error", () => undefined);
  const ch = await conn.createConfirmChannel();
  ch.on("error", () => undefined);
  return { conn, ch };
}

beforeAll(async () => {
  rabbit = await startRabbitMQ({
    prefix: "rabbit-conformance-",
    users,
    queues,
    ready: async (p) => {
      port = p;
      const c = await amqp.connect(url(generator));
      await c.close();
      return true;
    },
  });
  dir = rabbit.dir;
}, 120_000);

afterAll(async () => {
  await rabbit?.stop();
}, 60_000);

test("the memory watermark follows the container limit, not the machine's memory", () => {
  const status = execFileSync(
    "/usr/lib/rabbitmq/bin/rabbitmqctl",
    ["-n", `conformance${port}@localhost`, "status"],
    {
      encoding: "utf8",
      env: { ...process.env, HOME: dir },
    },
  );
  // 60% of 512Mi = 322122547 bytes (0.3 GiB).
  expect(status).toMatch(
    /Memory high watermark setting: 0.6 of available memory, computed to: 0.3\d* gb/,
  );
});

test("the generator can publish to the events exchange", async () => {
  const { conn, ch } = await channel(generator);
  ch.publish(EVENTS_EXCHANGE, "audit.login", Buffer.from(JSON.stringify({ user: "alice" })), {
    persistent: true,
  });
  await ch.waitForConfirms();
  await conn.close();
});

test("the generator cannot consume", async () => {
  const { conn, ch } = await channel(generator);
  await expect(ch.consume("audit.analysis", () => undefined)).rejects.toThrow(
    /ACCESS_REFUSED - access to queue 'audit.analysis' in vhost 'auditflow' refused for user 'audit_event_generator'/,
  );
  await conn.close().catch(() => undefined);
});

test("analysis consumes its queue but cannot publish", async () => {
  const { conn, ch } = await channel(analysis);
  const msg = await ch.get("audit.analysis", { noAck: false });
  expect(msg && JSON.parse(msg.content.toString())).toEqual({ user: "alice" });
  if (msg) ch.ack(msg);
  ch.publish(EVENTS_EXCHANGE, "audit.login", Buffer.from("{}"));
  await expect(ch.waitForConfirms()).rejects.toThrow();
  await conn.close().catch(() => undefined);
  const again = await channel(analysis);
  await expect(
    again.ch.checkQueue("audit.notifications").then(() => again.ch.get("audit.notifications")),
  ).rejects.toThrow(/ACCESS_REFUSED/);
  await again.conn.close().catch(() => undefined);
});

test("a rejected message lands in the dead-letter queue", async () => {
  const pub = await channel(generator);
  pub.ch.publish(EVENTS_EXCHANGE, "audit.alert.failed-login", Buffer.from("poison"), {
    persistent: true,
  });
  await pub.ch.waitForConfirms();
  await pub.conn.close();

  const { conn, ch } = await channel(notification);
  const msg = await ch.get("audit.notifications", { noAck: false });
  expect(msg && msg.content.toString()).toBe("poison");
  ch.nack(msg as amqp.Message, false, false);
  // basic.nack has no reply; give the broker a moment to act on it before the connection closes
  // (closing first would requeue the unacknowledged message instead).
  await new Promise((r) => setTimeout(r, 500));
  await conn.close();

  // Only the broker (and an operator) reads the dead-letter queue: check it as the broker sees it.
  await waitFor(
    "the message to be dead-lettered",
    () => {
      const out = execFileSync(
        "/usr/lib/rabbitmq/bin/rabbitmqctl",
        [
          "-n",
          `conformance${port}@localhost`,
          "list_queues",
          "-p",
          VHOST,
          "name",
          "messages",
          "arguments",
        ],
        { encoding: "utf8", env: { ...process.env, HOME: dir } },
      );
      if (!new RegExp(`${DEAD_LETTER_QUEUE.replace(".", "\\.")}\\s+1`).test(out))
        throw new Error(out);
      return true;
    },
    15_000,
  );
}, 30_000);
