/** How long the host has been up, in its two largest units: `3 d 4 h`, `5 h 12 min`, `42 s`. */
export function formatUptime(seconds: number): string {
  const whole = Math.max(0, Math.floor(seconds));
  const days = Math.floor(whole / 86_400);
  const hours = Math.floor((whole % 86_400) / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  if (days > 0) return `${days} d ${hours} h`;
  if (hours > 0) return `${hours} h ${minutes} min`;
  if (minutes > 0) return `${minutes} min`;
  return `${whole} s`;
}

/** A log line's other fields as `key=value` pairs, strings unquoted. */
export function formatFields(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
}

/** A name for an uploaded file's image: its name without extension, in the characters allowed. */
export function imageNameOf(fileName: string): string {
  return fileName
    .replace(/\.(qcow2|img|raw)$/i, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .slice(0, 64);
}
