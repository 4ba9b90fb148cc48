export { createProcessLogger, logFormatFrom, type LogFormat, type ProcessLoggerOptions } from './logger.js';
export {
  runUntilSignal,
  startUntilSignal,
  type ShutdownOptions,
  type StartedUntilSignal,
  type Stoppable,
} from './shutdown.js';
export { lockDataDir, dataDirHolder, DataDirLockedError, type DataDirLock, type LockHolder } from './data-dir-lock.js';
export { explainListenError, PortInUseError, type PortSetting } from './listen-error.js';
export { runMain } from './run-main.js';
