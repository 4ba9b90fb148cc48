export { parseScenario, formatIssue, ScenarioError, type ScenarioIssue } from './parse.js';
export { planScenario, scaleCounts, seededPick, inNamespace, namespaced } from './expand.js';
export type { ScenarioOverrides, ScenarioPlan, PlannedDevice, LateJoinerBatch } from './expand.js';
export { FLEET_GROUP, thingNameOf } from './rules.js';
export { ScenarioSchema } from './schema.js';
export type { Scenario, Release, Fault, DeviceGroup, LateJoiners, ScenarioRollout, Expectation } from './schema.js';
export { loadScenario, presetNames, PRESETS_DIR, type LoadedScenario } from './presets.js';
