export { ShadowClient, ShadowRequestTimeout, type ShadowAnswer, type ShadowClientOptions } from './shadow-client.js';
export { ReportedStateSync, type ReportedStateSyncOptions } from './reported-sync.js';
export { buildReportedState } from './reported-state.js';
export { ConfigShadowSync, type ConfigShadowSyncOptions } from './config-sync.js';
export { applicationConfigFile, type ConfigChangeSignal, type ConfigTarget } from './config-apply.js';
