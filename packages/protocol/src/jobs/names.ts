/**
 * Identifier rules of the Jobs topics and payloads (all of them live in ../identifiers.ts).
 * https://docs.aws.amazon.com/iot/latest/apireference/API_iot-jobs-data_UpdateJobExecution.html
 */
export { THING_NAME_PATTERN, isValidThingName, JOB_ID_PATTERN, isValidJobId } from '../identifiers.js';
/** The pseudo job id that DescribeJobExecution accepts for "the next pending execution". */
export const NEXT_JOB_ID = '$next';
