export { buildControlPlane, type ControlPlaneApp, type ControlPlaneOptions } from './build-control-plane.js';
export {
  verifySigV4,
  type SigV4Failure,
  type SigV4FailureName,
  type SigV4Identity,
  type SigV4Policy,
  type SigV4Request,
} from './sigv4.js';
export { toWire, type ControlPlaneErrorName } from './aws-reply.js';
