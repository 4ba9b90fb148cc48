import { AwsServiceError } from '../aws-error.js';

/** A job document as given: a JSON object, or InvalidRequestException. */
export function checkedDocument(text: string): Record<string, unknown> {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new AwsServiceError('InvalidRequestException', 400, 'The job document is not valid JSON');
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document))
    throw new AwsServiceError('InvalidRequestException', 400, 'The job document must be a JSON object');
  return document as Record<string, unknown>;
}
