import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The protocol package's MQTT payload types and @aws-sdk/client-iot's types are imported side by side (the
 * core and the agent's tests use both): no name may mean two shapes. Only the status unions share a name,
 * and they list the very same values as the SDK's enums.
 */
const exportedNames = (files: readonly string[]): Set<string> => {
  const names = new Set<string>();
  for (const f of files)
    for (const m of readFileSync(f, 'utf8').matchAll(
      /^export (?:declare )?(?:interface|type|const|class|function|enum) ([A-Za-z0-9_]+)/gm,
    ))
      names.add(m[1] as string);
  return names;
};
const tsFiles = (dir: string, suffix: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(suffix))
    .map((f) => join(dir, f));

const SAME_VALUES_AS_THE_SDK = ['JobExecutionStatus', 'JobStatus', 'RetryableFailureType'];

describe('protocol and @aws-sdk/client-iot names', () => {
  const sdkTypes = join(dirname(createRequire(import.meta.url).resolve('@aws-sdk/client-iot')), '..', 'dist-types');
  const sdk = exportedNames(tsFiles(sdkTypes, '.d.ts'));
  const protocol = exportedNames(tsFiles(fileURLToPath(new URL('../../protocol/src', import.meta.url)), '.ts'));

  it('no MQTT payload type has the name of an SDK type', () => {
    expect(sdk.has('JobExecution')).toBe(true); // the check reads the SDK's declarations
    expect(protocol.has('MqttJobExecution')).toBe(true);
    const shared = [...protocol].filter((n) => sdk.has(n)).sort();
    expect(shared).toEqual(SAME_VALUES_AS_THE_SDK);
  });

  it('the shared status unions hold exactly the SDK enums’ values', async () => {
    const iot = await import('@aws-sdk/client-iot');
    const p = await import('@otafleet/protocol');
    expect([...p.JOB_EXECUTION_STATUSES].sort()).toEqual(Object.values(iot.JobExecutionStatus).sort());
    expect([...p.JOB_STATUSES].sort()).toEqual(Object.values(iot.JobStatus).sort());
  });
});
