/**
 * `events.k8s.io/v1` Events (`Created`, `Rotated`, `Failed`) as `kubectl describe` shows them. Best
 * effort: an Event that cannot be written is logged and dropped, never a reason to stop reconciling.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../../common/logger.js';
import { microTime } from '../decide/schedule.js';
import { paths, type KubeClient } from './client.js';

export interface Regarding {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid: string;
}

export interface EventRecorder {
  record(regarding: Regarding, type: 'Normal' | 'Warning', reason: string, note: string): void;
}

export function createEventRecorder(kube: KubeClient, instance: string, logger: Logger, now: () => number = Date.now): EventRecorder {
  return {
    record(regarding, type, reason, note) {
      const event = {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name: `${regarding.name}.${randomBytes(8).toString('hex')}`, namespace: regarding.namespace },
        eventTime: microTime(now()),
        reportingController: 'registry.tollgate.dev/controller',
        reportingInstance: instance.slice(0, 128),
        action: reason === 'Failed' ? 'Reconcile' : reason === 'Rotated' ? 'Rotate' : 'Create',
        reason,
        note: note.slice(0, 1024),
        type,
        regarding,
      };
      kube.create(paths.events(regarding.namespace), event).then(
        (r) => {
          if (r.status >= 300) logger.warn({ status: r.status, reason }, 'controller: event not recorded');
        },
        (e: unknown) => logger.warn({ err: (e as Error).message, reason }, 'controller: event not recorded'),
      );
    },
  };
}
