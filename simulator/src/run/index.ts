export { runScenario, RunSetupError, type RunOptions, type RunProgress } from './run-scenario.js';
export { startSimStack, type SimStack, type SimStackOptions } from './stack.js';
export { buildReleases, simTrustSet, SIM_SIGNER, type BuiltRelease } from './releases.js';
export { fleetApi, FleetApiError, type FleetApi, type RolloutView } from './fleet-api.js';
export { runningStackTarget, RunningStackError, type RunningStack } from './running-stack.js';
export { localTarget, inMemoryAttachment, type RunTarget, type LocalTargetOptions } from './target.js';
