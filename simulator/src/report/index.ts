export { buildReport, deterministicPart, REPORT_SCHEMA_VERSION, type SimReport, type RunFacts } from './report.js';
export { checkExpectations, type Check } from './expectations.js';
export { renderReport } from './table.js';
