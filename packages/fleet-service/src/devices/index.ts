export {
  openDeviceIndex,
  DeviceIndexError,
  HEALTH_FILTER_VALUES,
  CONNECTIVITY_VALUES,
  SORT_KEYS,
} from './device-index.js';
export type { DeviceIndex, DeviceFilter, DeviceView, EnrolledDevice, ListOptions } from './device-index.js';
export { createEnrolment, DEFAULT_ENROL_CONCURRENCY } from './enrolment.js';
export type { Enrolment, EnrolmentDeps, EnrolRequest, EnrolResult, CertificateRequest } from './enrolment.js';
export { createGroups } from './groups.js';
export type { Groups, GroupView, CreateGroupRequest } from './groups.js';
export { deviceHistory } from './device-history.js';
export type { DeviceHistory, HistoryEntry } from './device-history.js';
export { checkCsr, generateKeyAndCsr } from './device-keys.js';
export { ensureQueryGroup, queryGroupName } from './query-target.js';
