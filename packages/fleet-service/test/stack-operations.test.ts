/** The operations settings the local stack reads from its environment: rate limit and backup schedule. */
import { describe, expect, it } from 'vitest';
import { operationsFromEnv, StackConfigError } from '../src/app/stack-config.js';

describe('operations settings from the environment', () => {
  it('reads the rate limit and the backup schedule, and nothing when unset', () => {
    expect(operationsFromEnv({})).toEqual({});
    expect(operationsFromEnv({ OTA_FLEET_RATE_LIMIT: '50/2.5' })).toEqual({ rateLimit: { burst: 50, perSecond: 2.5 } });
    expect(operationsFromEnv({ OTA_FLEET_RATE_LIMIT: 'off' })).toEqual({ rateLimit: false });
    expect(operationsFromEnv({ OTA_FLEET_BACKUP_CRON: '0 3 * * *' })).toEqual({
      backup: { cron: '0 3 * * *', keep: 7 },
    });
    expect(operationsFromEnv({ OTA_FLEET_BACKUP_CRON: '0 3 * * *', OTA_FLEET_BACKUP_KEEP: '2' })).toEqual({
      backup: { cron: '0 3 * * *', keep: 2 },
    });
  });

  it('refuses bad values naming the variable', () => {
    expect(() => operationsFromEnv({ OTA_FLEET_RATE_LIMIT: 'fast' })).toThrow(StackConfigError);
    expect(() => operationsFromEnv({ OTA_FLEET_RATE_LIMIT: '0/5' })).toThrow(/OTA_FLEET_RATE_LIMIT/);
    expect(() => operationsFromEnv({ OTA_FLEET_BACKUP_CRON: 'every night' })).toThrow(
      /not a valid node-cron expression/,
    );
    expect(() => operationsFromEnv({ OTA_FLEET_BACKUP_CRON: '0 3 * * *', OTA_FLEET_BACKUP_KEEP: '0' })).toThrow(
      /keep must be a whole number of at least 1/,
    );
  });
});
