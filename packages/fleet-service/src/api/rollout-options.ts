import { err, ok, type Result } from '@otafleet/protocol';
import { planMaintenance, type FieldIssue, type MaintenancePlan } from '../rollout/maintenance-windows.js';
import { checkRolloutRate, type RolloutRate } from '../rollout/rollout-rate.js';
import type { CreateRolloutBody } from './schemas.js';

/** The scheduling parts of a create-rollout body, checked and mapped: maintenance windows and the rollout rate. */
export function rolloutOptions(
  body: CreateRolloutBody,
  now: number,
): Result<{ readonly maintenance?: MaintenancePlan; readonly rate?: RolloutRate }, FieldIssue> {
  let maintenance: MaintenancePlan | undefined;
  if (body.maintenance !== undefined) {
    const planned = planMaintenance(body.maintenance, now);
    if (!planned.ok) return planned;
    maintenance = planned.value;
  }
  let rate: RolloutRate | undefined;
  if (body.rate !== undefined) {
    if (body.maxPerMinute !== undefined) {
      return err({ field: 'maxPerMinute', message: 'give the rate once: maxPerMinute or rate.maximumPerMinute' });
    }
    const checked = checkRolloutRate(body.rate);
    if (!checked.ok) return checked;
    rate = checked.value;
  }
  return ok({ ...(maintenance === undefined ? {} : { maintenance }), ...(rate === undefined ? {} : { rate }) });
}
