/**
 * Identifier rules shared by the Jobs topics and payloads.
 * https://docs.aws.amazon.com/iot/latest/apireference/API_iot-jobs-data_UpdateJobExecution.html
 */
export { THING_NAME_PATTERN, isValidThingName } from '../names.js';
export const JOB_ID_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;
/** The pseudo job id that DescribeJobExecution accepts for "the next pending execution". */
export const NEXT_JOB_ID = '$next';

export const isValidJobId = (jobId: string): boolean => JOB_ID_PATTERN.test(jobId);
