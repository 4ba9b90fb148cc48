export { healthSummary, startLocalEndpoint, type LocalEndpoint, type LocalEndpointSources } from './local-endpoint.js';
