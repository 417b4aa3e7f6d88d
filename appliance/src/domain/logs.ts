/** The appliance's log levels, lowest first (pino's names): what the Box page filters by. */
export const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevelName = (typeof logLevels)[number];
