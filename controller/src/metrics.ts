/**
 * The controller's metrics (`GET /metrics` on the probe port): reconciles by result, Events by reason
 * (Created, Rotated, Failed), and gauges read at scrape time — RegistryCredentials known, queue depth,
 * leadership. Nothing secret is a label.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { Controller } from './controller.js';

export interface ControllerMetrics {
  registry: Registry;
  reconciles: Counter<'result'>;
  events: Counter<'reason'>;
}

export function createControllerMetrics(): ControllerMetrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    reconciles: new Counter({ name: 'tollgate_controller_reconciles_total', help: 'Reconciles by result: ok (incl. Ready=False decided), retry (stale copy), error (could not decide)', labelNames: ['result'] as const, registers }),
    events: new Counter({ name: 'tollgate_controller_events_total', help: 'Events the controller reported, by reason (Created, Rotated, Failed)', labelNames: ['reason'] as const, registers }),
  };
}

/** Gauges that read the controller's state when scraped. */
export function watchController(m: ControllerMetrics, c: Controller): void {
  const registers = [m.registry];
  new Gauge({ name: 'tollgate_controller_credentials', help: 'RegistryCredentials in the informer cache', registers, collect() { this.set(c.informer.cache.size); } });
  new Gauge({ name: 'tollgate_controller_queue_depth', help: 'Reconciles waiting or running', registers, collect() { this.set(c.queue.size); } });
  new Gauge({ name: 'tollgate_controller_leader', help: '1 while this replica holds the Lease (or runs without leader election)', registers, collect() { this.set(c.leader ? (c.leader.isLeader() ? 1 : 0) : 1); } });
}
