import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { compileValidator, err, ok, type Result, type SchemaIssue } from '@otafleet/protocol';
import { AgentConfigSchema, type AgentConfig } from './schema.js';

export interface ConfigError {
  readonly code: 'CONFIG_UNREADABLE' | 'CONFIG_INVALID_JSON' | 'CONFIG_INVALID';
  readonly message: string;
  /** Every problem, each with the JSON pointer of the offending value. */
  readonly issues: readonly SchemaIssue[];
}

const validator = compileValidator(AgentConfigSchema);
const MAX_CONFIG_BYTES = 256 * 1024;

function issuesOf(value: unknown): SchemaIssue[] {
  const r = validator.validate(value);
  return r.ok ? [] : [...r.error];
}

/** Paths in the file are relative to the file. */
function withAbsolutePaths(config: AgentConfig, base: string): AgentConfig {
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  const b = config.broker;
  return {
    ...config,
    dataDir: abs(config.dataDir),
    trustStore: abs(config.trustStore),
    slots: { ...config.slots, root: abs(config.slots.root) },
    ...(config.remoteConfig?.path === undefined
      ? {}
      : { remoteConfig: { ...config.remoteConfig, path: abs(config.remoteConfig.path) } }),
    broker:
      b.kind === 'aws-iot'
        ? { ...b, caFile: abs(b.caFile), certFile: abs(b.certFile), keyFile: abs(b.keyFile) }
        : {
            ...b,
            ...(b.caFile === undefined ? {} : { caFile: abs(b.caFile) }),
            ...(b.certFile === undefined ? {} : { certFile: abs(b.certFile) }),
            ...(b.keyFile === undefined ? {} : { keyFile: abs(b.keyFile) }),
          },
  };
}

/** Checks a decoded configuration (`base`: the directory relative paths start from). */
export function parseAgentConfig(value: unknown, base: string): Result<AgentConfig, ConfigError> {
  const issues = issuesOf(value);
  if (issues.length === 0) {
    const config = value as AgentConfig;
    const b = config.broker;
    if (b.kind === 'mqtt' && (b.certFile === undefined) !== (b.keyFile === undefined)) {
      issues.push({
        path: b.certFile === undefined ? '/broker/certFile' : '/broker/keyFile',
        message: 'certFile and keyFile go together (mutual TLS)',
      });
    }
    if (issues.length === 0) return ok(Object.freeze(withAbsolutePaths(config, base)));
  }
  const lines = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  return err({ code: 'CONFIG_INVALID', message: `invalid agent configuration: ${lines}`, issues });
}

/** Reads and checks the agent's configuration file. Never throws. */
export async function loadAgentConfig(path: string): Promise<Result<AgentConfig, ConfigError>> {
  let text: string;
  try {
    const bytes = await readFile(path);
    if (bytes.byteLength > MAX_CONFIG_BYTES) {
      return err({
        code: 'CONFIG_UNREADABLE',
        message: `${path} is ${bytes.byteLength} bytes; the limit is ${MAX_CONFIG_BYTES}`,
        issues: [],
      });
    }
    text = bytes.toString('utf8');
  } catch (e) {
    return err({ code: 'CONFIG_UNREADABLE', message: `cannot read ${path}: ${(e as Error).message}`, issues: [] });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return err({
      code: 'CONFIG_INVALID_JSON',
      message: `${path} is not JSON: ${(e as Error).message}`,
      issues: [{ path: '/', message: (e as Error).message }],
    });
  }
  return parseAgentConfig(json, dirname(resolve(path)));
}
