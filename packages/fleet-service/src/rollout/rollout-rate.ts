import { Type, type Static } from '@sinclair/typebox';
import { err, ok, type Result } from '@otafleet/protocol';
import type { FieldIssue } from './maintenance-windows.js';

/**
 * How fast each wave's job notifies devices: AWS IoT Jobs' `jobExecutionsRolloutConfig`, applied to every wave.
 * The schema takes any number so the check below can answer with AWS's own validation text, naming the member.
 */
export const RolloutRateSchema = Type.Object(
  {
    maximumPerMinute: Type.Optional(Type.Integer()),
    exponentialRate: Type.Optional(
      Type.Object(
        {
          baseRatePerMinute: Type.Integer(),
          incrementFactor: Type.Number(),
          rateIncreaseCriteria: Type.Object(
            {
              numberOfNotifiedThings: Type.Optional(Type.Integer()),
              numberOfSucceededThings: Type.Optional(Type.Integer()),
            },
            { additionalProperties: false },
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type RolloutRate = Static<typeof RolloutRateSchema>;

/** The limits of the JobExecutionsRolloutConfig, ExponentialRolloutRate and RateIncreaseCriteria references. */
export const AWS_RATE_LIMITS = {
  minPerMinute: 1,
  maxPerMinute: 1000,
  minIncrementFactor: 1.1,
  maxIncrementFactor: 5,
  minCriteria: 1,
  maxCriteria: 1_000_000,
} as const;

/** AWS's wording for a member outside its range (its InvalidRequestException / ValidationException text). */
const awsRange = (member: string, value: number, bound: 'min' | 'max', limit: number): string =>
  `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must have value ${bound === 'min' ? 'greater' : 'less'} than or equal to ${limit}`;

/** Checks a rollout rate against AWS's limits; the first violation, in AWS's text, naming the body field. */
export function checkRolloutRate(rate: RolloutRate): Result<RolloutRate, FieldIssue> {
  const L = AWS_RATE_LIMITS;
  const member = (name: string): string => `jobExecutionsRolloutConfig.${name}`;
  const range = (field: string, awsMember: string, value: number, min: number, max: number) => {
    if (value < min) return { field: `rate.${field}`, message: awsRange(awsMember, value, 'min', min) };
    if (value > max) return { field: `rate.${field}`, message: awsRange(awsMember, value, 'max', max) };
    return undefined;
  };
  const issues: (FieldIssue | undefined)[] = [];
  if (rate.maximumPerMinute !== undefined) {
    issues.push(
      range('maximumPerMinute', member('maximumPerMinute'), rate.maximumPerMinute, L.minPerMinute, L.maxPerMinute),
    );
  }
  const exp = rate.exponentialRate;
  if (exp !== undefined) {
    const e = (name: string): string => member(`exponentialRate.${name}`);
    issues.push(
      range(
        'exponentialRate.baseRatePerMinute',
        e('baseRatePerMinute'),
        exp.baseRatePerMinute,
        L.minPerMinute,
        L.maxPerMinute,
      ),
      range(
        'exponentialRate.incrementFactor',
        e('incrementFactor'),
        exp.incrementFactor,
        L.minIncrementFactor,
        L.maxIncrementFactor,
      ),
    );
    const c = exp.rateIncreaseCriteria;
    const given = [c.numberOfNotifiedThings, c.numberOfSucceededThings].filter((v) => v !== undefined).length;
    if (given !== 1) {
      issues.push({
        field: 'rate.exponentialRate.rateIncreaseCriteria',
        message: `${e('rateIncreaseCriteria')}: specify exactly one of numberOfNotifiedThings or numberOfSucceededThings`,
      });
    }
    for (const name of ['numberOfNotifiedThings', 'numberOfSucceededThings'] as const) {
      const v = c[name];
      if (v !== undefined) {
        issues.push(
          range(
            `exponentialRate.rateIncreaseCriteria.${name}`,
            e(`rateIncreaseCriteria.${name}`),
            v,
            L.minCriteria,
            L.maxCriteria,
          ),
        );
      }
    }
    if (rate.maximumPerMinute !== undefined && rate.maximumPerMinute < exp.baseRatePerMinute) {
      issues.push({
        field: 'rate.maximumPerMinute',
        message: `${member('maximumPerMinute')} (${rate.maximumPerMinute}) is below exponentialRate.baseRatePerMinute (${exp.baseRatePerMinute}): the rate could never grow`,
      });
    }
  }
  const first = issues.find((i) => i !== undefined);
  return first === undefined ? ok(rate) : err(first);
}
