/** The appliance's log levels, lowest first (pino's names): what the Box page filters by. */
export const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevelName = (typeof logLevels)[number];

/** One line of the appliance's log as the Box page shows it. */
export interface LogLine {
  time: string;
  level: LogLevelName;
  message: string;
  /** Every other field of the line (component, error, ids…). */
  fields: Record<string, unknown>;
}
