/**
 * The public surface of @otafleet/iot-core, named one by one: what other packages and the core's own tools use.
 * Everything else under src/ is internal. Test support is the separate `@otafleet/iot-core/testing` entry.
 */

// The whole local core: configuration, start, node flags.
export {
  CONFIG_HELP,
  ConfigError,
  DEV_ACCESS_KEY_ID,
  DEV_SECRET_ACCESS_KEY,
  loadConfig,
  LocalCoreConfigSchema,
  type LocalCoreConfig,
} from './app/config.js';
export { startLocalCore, type LocalCore } from './app/local-core.js';
export { ensurePki, type CorePki } from './app/pki.js';
export { CORE_NODE_FLAGS } from './app/node-flags.js';

// The services, each usable on its own over a Db and a MessageBus.
export {
  createShadowService,
  ShadowServiceOptionsError,
  type ShadowService,
  type ShadowServiceOptions,
} from './shadow/index.js';
export { createJobsService, type JobsService, type JobsServiceOptions } from './jobs/index.js';
export {
  checkS3PresignEndpoint,
  parseS3Url,
  presignS3Get,
  S3PresignConfigError,
  type S3ObjectRef,
  type S3PresignTarget,
} from './jobs/index.js';
export { createThingRegistry, type ThingRegistry, type ThingRegistryOptions } from './registry/index.js';
export type { JobsControlPlane, ShadowControlPlane } from './service-contracts.js';
export {
  jobArn,
  thingArn,
  thingGroupArn,
  type ArnContext,
  type MembershipChange,
  type ThingGroupRecord,
  type ThingRecord,
  type ThingRegistryView,
} from './registry-types.js';
export { migrate, openDatabase, type Db } from './db.js';
export { AwsServiceError, isAwsServiceError, type AwsErrorName } from './aws-error.js';

// The control-plane HTTP API (SigV4, restJson1).
export {
  buildControlPlane,
  verifySigV4,
  type ControlPlaneApp,
  type ControlPlaneOptions,
  type SigV4Failure,
  type SigV4FailureName,
  type SigV4Identity,
  type SigV4Policy,
  type SigV4Request,
} from './control-plane/index.js';

// The broker: embedded aedes, its in-process bus, the per-thing topic rules, Mosquitto's generated config.
export {
  BrokerOptionsError,
  startEmbeddedBroker,
  type BrokerOptionsErrorCode,
  type EmbeddedBroker,
  type EmbeddedBrokerOptions,
  type EmbeddedBrokerTlsOptions,
} from './broker/embedded-broker.js';
export { createAedesBus } from './bus/aedes-bus.js';
export { canPublish, canSubscribe } from './broker/topic-authorization.js';
export {
  renderMosquittoConfig,
  writeMosquittoConfig,
  type MosquittoConfigOptions,
  type WrittenMosquittoConfig,
} from './mosquitto/mosquitto-config.js';

// Identities: the local CA, device/service/server certificates, who a certificate names.
export {
  createCertificateAuthority,
  isIssuedBy,
  issueDeviceCertificate,
  issueServerCertificate,
  issueServiceCertificate,
  loadCertificateAuthority,
  type CertificateAuthority,
  type CreatedCertificateAuthority,
  type IssuedCredential,
  type IssueOptions,
} from './identity/ca.js';
export {
  caCertPath,
  caKeyPath,
  initCaDirectory,
  issueDeviceToDirectory,
  issueServerToDirectory,
  issueServiceToDirectory,
  openCaDirectory,
  serverCredentialPaths,
  serviceCredentialPaths,
  thingCredentialPaths,
  type CredentialPaths,
} from './identity/ca-store.js';
export {
  isValidServiceName,
  principalFromSubject,
  PRIVILEGED_OU,
  SERVICE_CN_PREFIX,
  serviceCommonName,
  type CertificateSubject,
  type Principal,
} from './identity/principal.js';
export { IdentityError, type IdentityErrorCode } from './identity/identity-error.js';

// In-memory device connections (the simulator) and what the broker knows of connections.
export { InvalidStreamIdentityError, type StreamIdentity } from './broker/connection-identity.js';
export type { Connectivity } from './broker/presence.js';
export type { SubscriptionIndex } from './bus/subscription-index.js';
