import { pino, type Logger } from 'pino';

/** The testing surface logs nothing unless a test passes its own `logger`: test output stays readable. */
export const silentLogger: Logger = pino({ level: 'silent' });
