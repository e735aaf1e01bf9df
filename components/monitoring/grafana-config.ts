/** Grafana's provisioning files: the Prometheus and Loki datasources and the dashboards folder. */
import { DATASOURCES } from "./dashboards/panels";

export function grafanaDatasources(p: {
  prometheusUrl: string;
  lokiUrl: string;
  scrapeInterval: string;
}): Record<string, unknown> {
  return {
    apiVersion: 1,
    // Deleting first makes the provisioned datasources the only ones, even after a UI edit.
    deleteDatasources: [
      { name: "Prometheus", orgId: 1 },
      { name: "Loki", orgId: 1 },
    ],
    datasources: [
      {
        name: "Prometheus",
        uid: DATASOURCES.prometheus.uid,
        type: DATASOURCES.prometheus.type,
        access: "proxy",
        url: p.prometheusUrl,
        isDefault: true,
        editable: false,
        jsonData: { timeInterval: p.scrapeInterval },
      },
      {
        name: "Loki",
        uid: DATASOURCES.loki.uid,
        type: DATASOURCES.loki.type,
        access: "proxy",
        url: p.lokiUrl,
        editable: false,
        jsonData: { maxLines: 1000 },
      },
    ],
  };
}

export function grafanaDashboardProvider(dir: string): Record<string, unknown> {
  return {
    apiVersion: 1,
    providers: [
      {
        name: "auditflow",
        folder: "AuditFlow",
        type: "file",
        disableDeletion: true,
        allowUiUpdates: false,
        options: { path: dir },
      },
    ],
  };
}
