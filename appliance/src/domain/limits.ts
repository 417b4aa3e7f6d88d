/**
 * The bounds on work one client can make the box do, stated once. Routes, the orchestrator and the
 * catalog read them from here; README's "Limits" table lists the same figures. A limit is sized so
 * that one browser (every page's stream), the CLI's `--wait`, a peer box's bridge and a run's
 * agents fit inside it with room to spare, while a client that loops cannot exhaust the box.
 */
export const limits = {
  /**
   * JSON request bodies, refused (413) before they are buffered; authenticated routes check the
   * caller before reading any body.
   */
  jsonBodyBytes: 256 * 1024,
  /** JSON bodies of the routes anyone may call (sign-in, first-run setup). */
  unauthenticatedBodyBytes: 4 * 1024,
  /**
   * App bundles (upload or import by path): their size as sent, and what they may unpack to:
   * in all, per file, and per byte received (a gzip bomb stops at the ratio, not at the disk's
   * end). The files read into memory (CHECKSUMS, SIGNATURE, manifest.yaml, modules.yaml) are
   * refused from their tar header when larger; nothing is read whole without a cap.
   */
  bundleBytes: 32 * 1024 ** 3,
  bundleUnpackedBytes: 64 * 1024 ** 3,
  bundleFileBytes: 32 * 1024 ** 3,
  bundleEntries: 2000,
  bundleRatio: 100,
  /** Unpacked bytes allowed beyond the ratio, so small bundles of text are not refused. */
  bundleRatioAllowanceBytes: 64 * 1024 ** 2,
  bundleHeadFileBytes: 1024 * 1024,
  bundleModulesBytes: 4 * 1024 * 1024,
  /** Disk space an import leaves free (bundles and images), so the box keeps working. */
  diskReserveBytes: 1024 ** 3,
  /** Time to receive a JSON request, headers and body (uploads stream and are not bound by it). */
  requestTimeoutMs: 30_000,
  /** Time to receive a request's headers. */
  headersTimeoutMs: 30_000,
  /**
   * A connection with no traffic either way for this long is closed: longer than the longest
   * silent wait a client may ask for (an agent's parameter wait), so no legitimate wait is cut.
   */
  idleConnectionMs: 660_000,
  /**
   * Longest path parameter in the URL as sent: a runtime-parameter key up to the 140 characters
   * its schema allows (the longest valid one, `node.nnn:` and a 64-character name, is 101), with
   * room for its colon percent-encoded.
   */
  paramLength: 160,
  /** Open event streams (`/api/v1/events`) per user. */
  eventStreamsPerUser: 8,
  /** Server-side waits an agent token holds at once (`bivouac-get --timeout`). */
  agentWaitsPerInstance: 8,
  /** Longest server-side wait of one agent call, seconds. */
  agentWaitSeconds: 600,
  /** Console waits (`/vms/:id/console?wait=`) per user at once. */
  consoleWaitsPerUser: 4,
  /** Longest console wait, seconds. */
  consoleWaitSeconds: 60,
  /** A module diff gives up beyond this many edits, or after this long, answering DIFF_TOO_LARGE. */
  diffMaxEdits: 10_000,
  diffTimeoutMs: 2_000,
  /** How deep collections may nest in YAML a client sends (module import), refused beyond. */
  yamlMaxDepth: 64,
  /**
   * Live (not yet finished) runs one user may hold unless their quota says otherwise; a run counts
   * one even when it reserves nothing, so runs of empty nodes cannot pile up past every quota.
   */
  liveRunsPerUser: 20,
  /** API tokens one user may hold; beyond, a new one is refused (TOKENS_FULL). */
  apiTokensPerUser: 100,
  /**
   * Signed-in sessions one user holds at once (browsers, the box's screen); a sign-in beyond
   * ends that user's oldest session. Expired sessions go at every sign-in.
   */
  sessionsPerUser: 32,
  /** Runtime parameters of one run: how many keys, and their bytes in all. */
  paramsPerRun: 512,
  paramBytesPerRun: 1024 * 1024,
} as const;
