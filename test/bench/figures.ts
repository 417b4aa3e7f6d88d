/**
 * The figures every benchmark must print, by bench file name (without `.bench.ts`). The runner
 * reports a declared figure that is not printed, or is NaN or Infinity, as MISSED (the whole bench
 * as CRASHED when it did not exit cleanly), and a printed figure that is not declared here as an
 * error, so a figure cannot go missing or appear unnoticed. Context figures (target null) are
 * declared too. Keep it one plain object, a bench a key, its figures in the order it prints them.
 */
export const declaredFigures: Record<string, readonly string[]> = {
  'app-store': [
    'bundle-import-200mb-throughput',
    'bundle-import-200mb-memory-growth',
    'apps-list-500-p50',
    'apps-list-500-p99',
  ],
  'cold-start': ['cold-start-fresh-data-dir', 'cold-start-existing-store'],
  'connector-overhead': [
    'connector-libvirt-calls-per-vm',
    'connector-overhead-per-vm',
    'vm-tracker-launch-terminate-per-vm',
    'connector-disk-libvirt-calls-per-vm',
    'connector-disk-overhead-per-vm',
  ],
  'durable-write': [
    'durable-write-p50',
    'durable-write-p99',
    'durable-write-burst-100-file-writes',
    'durable-write-burst-100-total',
  ],
  'history-write': [
    'history-write-p50',
    'history-write-p99',
    'history-files-size',
    'history-open-full-year',
    'history-sync-batch-p50',
  ],
  'http-throughput': [
    'http-session-bearer-throughput',
    'http-session-bearer-p99',
    'http-healthz-throughput',
    'http-healthz-p99',
    'https-session-bearer-throughput',
    'https-session-bearer-p99',
    'https-healthz-throughput',
    'https-healthz-p99',
  ],
  idle: ['idle-rss', 'idle-cpu'],
  orchestration: [
    'deploy-8-vms-to-ready',
    'orchestration-overhead-per-vm',
    'deploy-8-vms-orchestrator-commits',
    'deploy-8-vms-agent-report-commits',
    'param-wait-wakeup-p50',
    'param-wait-wakeup-p99',
    'runs-list-1000-p50',
    'runs-list-1000-p99',
  ],
  'private-network': [
    'private-network-make',
    'private-network-remove',
    'private-network-make-and-remove',
    'private-web-db-post-to-ready',
  ],
  'push-latency': [
    'virsh-destroy-to-sse-p50',
    'virsh-destroy-to-sse-p99',
    'qemu-virsh-destroy-to-sse-p50',
    'qemu-virsh-destroy-to-sse-p99',
  ],
  'real-deploy': [
    'real-web-db-post-to-ready',
    'real-web-db-orchestration',
    'real-web-db-guests-own',
  ],
  'run-store': [
    'run-store-main-document-size',
    'run-store-durable-write-p50',
    'run-store-durable-write-vs-empty-box',
    'run-store-runs-list-p99',
    'run-store-search-p99',
    'run-store-rss',
    'run-store-rss-while-archiving',
    'run-store-cold-start-seeded',
    'run-store-cold-start-archived',
  ],
  'sign-in-burst': [
    'sign-in-burst-passwords-checked',
    'sign-in-burst-healthz-p99',
    'sign-in-burst-healthz-samples',
    'sign-in-burst-healthz-idle-p99',
    'sign-in-burst-durable-write-p99',
    'sign-in-burst-durable-write-samples',
    'sign-in-burst-durable-write-idle-p99',
  ],
  ui: [
    'renderer-initial-js',
    'dashboard-first-render',
    'state-change-event-to-screen-median',
    'state-change-event-to-screen-p95',
    'state-change-api-to-screen-median',
    'state-change-api-to-screen-p95',
    'run-page-requests-per-state-change',
  ],
};
