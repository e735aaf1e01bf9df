/**
 * What each AuditFlow service is: its role, port, health endpoints and the data services it uses.
 * These are facts about the applications, not per-stack settings (those live in the stack config).
 */
/** The four AuditFlow services, in pipeline order. */
export const SERVICE_NAMES = [
  "audit-event-generator",
  "audit-log-analysis",
  "event-audit-dashboard",
  "notification-service",
] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface ServiceTraits {
  /** `app.kubernetes.io/component`. */
  component: string;
  /** HTTP port serving the API and health endpoints. */
  port: number;
  /** Liveness endpoint: the process is alive. */
  livenessPath: string;
  /** Readiness endpoint: dependencies reachable, ready for traffic. */
  readinessPath: string;
  /** Data services it connects to. */
  uses: readonly ("postgres" | "redis" | "amqp")[];
  /** Services (by name) that call its HTTP API. */
  calledBy: readonly ServiceName[];
  /** Command that migrates its database schema, run as a Job before each rollout. */
  migrationCommand?: readonly string[];
  /** Seconds the app may take to start before liveness applies. */
  startupSeconds: number;
  /**
   * Seconds the app needs after SIGTERM to finish in-flight work (HTTP requests, the message being
   * processed) before it exits; sizes the termination grace period.
   */
  drainSeconds: number;
  /** Whether it reads analysis rules from RULES_DIR (see analysis-rules.ts). */
  readsRules?: boolean;
}

export const catalog: Readonly<Record<ServiceName, ServiceTraits>> = {
  "audit-event-generator": {
    component: "producer",
    port: 8000,
    livenessPath: "/healthz",
    readinessPath: "/readyz",
    uses: ["amqp"],
    calledBy: [],
    startupSeconds: 30,
    drainSeconds: 10,
  },
  "audit-log-analysis": {
    component: "processor",
    port: 8000,
    livenessPath: "/healthz",
    readinessPath: "/readyz",
    uses: ["amqp", "postgres", "redis"],
    calledBy: ["event-audit-dashboard"],
    migrationCommand: ["alembic", "upgrade", "head"],
    startupSeconds: 60,
    drainSeconds: 30,
    readsRules: true,
  },
  "event-audit-dashboard": {
    component: "frontend",
    port: 8080,
    livenessPath: "/healthz",
    readinessPath: "/readyz",
    uses: ["postgres", "redis"],
    calledBy: [],
    startupSeconds: 60,
    drainSeconds: 30,
  },
  "notification-service": {
    component: "notifier",
    port: 8000,
    livenessPath: "/healthz",
    readinessPath: "/readyz",
    uses: ["amqp"],
    calledBy: [],
    startupSeconds: 30,
    drainSeconds: 20,
  },
};

/** What each service may do on the message broker (least privilege). */
export const amqpRoles: Readonly<
  Partial<Record<ServiceName, { publishes: boolean; consumes?: string }>>
> = {
  "audit-event-generator": { publishes: true },
  "audit-log-analysis": { publishes: false, consumes: "audit.analysis" },
  "notification-service": { publishes: false, consumes: "audit.notifications" },
};

/** Queues bound to the audit events exchange: analysis sees every event, notifications the alerts. */
export const amqpQueues = [
  { name: "audit.analysis", bindingKey: "audit.#" },
  { name: "audit.notifications", bindingKey: "audit.alert.#" },
] as const;
