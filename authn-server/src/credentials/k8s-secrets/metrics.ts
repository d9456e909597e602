/** Metrics of the Kubernetes Secret backend, registered on the server's registry. */
import { Counter, Gauge, Registry } from 'prom-client';

export interface K8sMetrics {
  events: Counter<'type'>;
  relists: Counter;
  errors: Counter<'kind'>;
  secrets: Gauge;
  ready: Gauge;
}

export function createK8sMetrics(isReady: () => boolean, registry: Registry = new Registry()): K8sMetrics {
  const registers = [registry];
  return {
    events: new Counter({ name: 'tollgate_authn_k8s_watch_events_total', help: 'Secret watch events received, by type', labelNames: ['type'] as const, registers }),
    relists: new Counter({ name: 'tollgate_authn_k8s_relists_total', help: 'Lists made again because the resourceVersion was too old (410 Gone)', registers }),
    errors: new Counter({ name: 'tollgate_authn_k8s_errors_total', help: 'Kubernetes API failures (list, watch, get) and Secrets ignored as unusable (invalid_secret)', labelNames: ['kind'] as const, registers }),
    secrets: new Gauge({ name: 'tollgate_authn_k8s_secrets', help: 'Namespaces with a usable credential Secret in the table', registers }),
    ready: new Gauge({
      name: 'tollgate_authn_k8s_ready',
      help: '1 when the Secret backend may answer logins',
      registers,
      collect() {
        this.set(isReady() ? 1 : 0);
      },
    }),
  };
}
