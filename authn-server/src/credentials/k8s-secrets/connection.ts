/** The Secret backend's API connection: common/kube/connection.ts, shared with the controller. */
export { resolveConnection, type ConnectionFlags } from '../../../../common/kube/connection.js';
