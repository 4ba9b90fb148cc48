export { createJobsService, type JobsService, type JobsServiceOptions } from './service.js';
export {
  checkS3PresignEndpoint,
  parseS3Url,
  presignS3Get,
  S3PresignConfigError,
  type S3ObjectRef,
  type S3PresignTarget,
} from './s3-presign.js';
