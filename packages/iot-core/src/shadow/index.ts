export {
  createShadowService,
  ShadowServiceOptionsError,
  type ShadowService,
  type ShadowServiceOptions,
} from './shadow-service.js';
export { shadowErrorToAwsServiceError } from './aws-errors.js';
