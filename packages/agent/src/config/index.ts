export { AgentConfigSchema, type AgentConfig } from './schema.js';
export { loadAgentConfig, parseAgentConfig, type ConfigError } from './load.js';
