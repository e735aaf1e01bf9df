/**
 * Small panel helpers over @grafana/grafana-foundation-sdk (Grafana's own typed dashboard builders):
 * every panel names its datasource by uid, so provisioning and the conformance check agree on it.
 */
import * as common from "@grafana/grafana-foundation-sdk/common";
import * as logs from "@grafana/grafana-foundation-sdk/logs";
import * as loki from "@grafana/grafana-foundation-sdk/loki";
import * as prometheus from "@grafana/grafana-foundation-sdk/prometheus";
import * as stat from "@grafana/grafana-foundation-sdk/stat";
import * as timeseries from "@grafana/grafana-foundation-sdk/timeseries";

/** The provisioned datasources (grafana-config.ts creates them with these uids). */
export const DATASOURCES = {
  prometheus: { type: "prometheus", uid: "prometheus" },
  loki: { type: "loki", uid: "loki" },
} as const;

export interface Query {
  expr: string;
  legend?: string;
}

const promQuery = (q: Query, i: number, instant = false) => {
  const b = new prometheus.DataqueryBuilder()
    .expr(q.expr)
    .refId(String.fromCharCode(65 + i))
    .datasource(DATASOURCES.prometheus);
  if (q.legend) b.legendFormat(q.legend);
  if (instant) b.instant();
  else b.range();
  return b;
};

/** A time series of PromQL queries. */
export function graph(title: string, unit: string, queries: Query[], width = 12) {
  const p = new timeseries.PanelBuilder()
    .title(title)
    .unit(unit)
    .datasource(DATASOURCES.prometheus)
    .span(width)
    .height(8)
    .fillOpacity(10);
  queries.forEach((q, i) => p.withTarget(promQuery(q, i)));
  return p;
}

/** A single-value panel (the last value of an instant query). */
export function single(title: string, unit: string, queries: Query[], width = 6) {
  const p = new stat.PanelBuilder()
    .title(title)
    .unit(unit)
    .datasource(DATASOURCES.prometheus)
    .span(width)
    .height(5)
    .colorMode(common.BigValueColorMode.Value)
    .graphMode(common.BigValueGraphMode.None);
  queries.forEach((q, i) => p.withTarget(promQuery(q, i, true)));
  return p;
}

/** Log lines from Loki, newest first. */
export function logLines(title: string, expr: string, maxLines: number, width = 24) {
  return new logs.PanelBuilder()
    .title(title)
    .datasource(DATASOURCES.loki)
    .span(width)
    .height(12)
    .showTime(true)
    .wrapLogMessage(true)
    .sortOrder(common.LogsSortOrder.Descending)
    .withTarget(
      new loki.DataqueryBuilder()
        .expr(expr)
        .maxLines(maxLines)
        .refId("A")
        .datasource(DATASOURCES.loki),
    );
}

/** A time series of a LogQL metric query (log lines counted over time). */
export function logRate(title: string, expr: string, legend: string, width = 12) {
  return new timeseries.PanelBuilder()
    .title(title)
    .unit("short")
    .datasource(DATASOURCES.loki)
    .span(width)
    .height(8)
    .withTarget(
      new loki.DataqueryBuilder()
        .expr(expr)
        .legendFormat(legend)
        .refId("A")
        .datasource(DATASOURCES.loki),
    );
}
