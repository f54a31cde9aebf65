/**
 * With `--workers`, each worker process has its own Metrics and the primary merges what they
 * report. Each metric says how its samples combine (prom-client's `aggregator`, set where the
 * metric is made): traffic counters and histograms add up (prom-client's default, "sum"),
 * while each worker's view of etcd is reduced to the most pessimistic one ("min" of connected,
 * synced and revision, "max" of the ages) so that a single lagging worker shows.
 */
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type PrometheusContentType, type Registry } from 'prom-client';

/**
 * Merges the metrics of `--workers` processes into one registry for the primary to serve on
 * /metrics. Each entry is one worker's `await metrics.registry.getMetricsAsJSON()` (plain data,
 * so it can cross IPC); every metric family is combined by its `aggregator`. A thin wrapper over
 * prom-client's AggregatorRegistry.aggregate, which needs no cluster module and keeps the
 * primary from depending on prom-client itself.
 */
export function aggregateWorkerMetrics(perWorker: readonly MetricObjectWithValues<MetricValue<string>>[][]): Registry {
  return AggregatorRegistry.aggregate<PrometheusContentType>([...perWorker]);
}
