export * from './job-document.js';
export * from './health-report.js';
export * from './parse.js';
