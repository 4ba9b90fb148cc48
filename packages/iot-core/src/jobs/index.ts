export { createJobsService, type JobsService, type JobsServiceOptions } from './service.js';
export {
  BUNDLE_URL_EXPIRES_PARAM,
  BUNDLE_URL_SIGNATURE_PARAM,
  signBundleUrl,
  verifyBundleUrl,
  type BundleUrlVerdict,
} from './presigned-url.js';
