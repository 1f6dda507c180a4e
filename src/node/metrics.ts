// Counters and gauges in the Prometheus text format (version 0.0.4). Values are integers (counts,
// blocks, wei): nothing here needs floating point.

export const METRIC_HELP = {
  tasks_posted_total: 'Results this node posted',
  tasks_finalized_total: 'Results of this node that finalized',
  audits_attested_total: 'Audits this node attested',
  results_checked_total: 'Results this node re-executed',
  results_challenged_total: 'Results this node challenged',
  dispute_moves_total: 'Dispute game moves this node sent',
  disputes_won_total: 'Dispute games this node won',
  disputes_lost_total: 'Dispute games this node lost',
  txs_sent_total: 'Transactions sent',
  txs_reverted_total: 'Transactions that reverted or failed to send',
  rpc_errors_total: 'RPC calls that failed (each retry counts)',
  job_errors_total: 'State machine wakes that threw',
  sync_head_block: 'Latest chain head seen',
  sync_cursor_block: 'Last block whose logs were processed',
  sync_lag_blocks: 'Head minus cursor',
  open_jobs: 'Open jobs by kind',
  p2p_peers_connected: 'Peers with an open libp2p connection',
  p2p_requests_served_total: 'Peer requests answered with what was asked for, by protocol',
  p2p_requests_refused_total: 'Peer requests refused or not found, by protocol and reason',
  p2p_bad_messages_total: 'Peer offences recorded (oversized, malformed, wrong data, bad gossip)',
  p2p_inputs_fetched_total: 'Inputs of signed tasks fetched from workers and handed to the verifier',
  p2p_input_fetch_failures_total: 'Input fetches that failed, by error',
  p2p_announcements_published_total: 'Gossip announcements published, by topic',
  p2p_announcements_received_total: 'Gossip announcements received, by topic',
  batch_events_total:
    'Batch settlement events (proposed, posted, checked, challenged, finalized...), by type',
} as const;

export type MetricName = keyof typeof METRIC_HELP;

const GAUGES = new Set<MetricName>([
  'sync_head_block',
  'sync_cursor_block',
  'sync_lag_blocks',
  'open_jobs',
  'p2p_peers_connected',
]);

export class Metrics {
  private readonly values = new Map<MetricName, Map<string, bigint>>();

  inc(name: MetricName, by: bigint | number = 1n, labels: Record<string, string> = {}): void {
    const key = labelKey(labels);
    const series = this.series(name);
    series.set(key, (series.get(key) ?? 0n) + BigInt(by));
  }

  set(name: MetricName, value: bigint | number, labels: Record<string, string> = {}): void {
    this.series(name).set(labelKey(labels), BigInt(value));
  }

  get(name: MetricName, labels: Record<string, string> = {}): bigint {
    return this.values.get(name)?.get(labelKey(labels)) ?? 0n;
  }

  private series(name: MetricName): Map<string, bigint> {
    let s = this.values.get(name);
    if (!s) {
      s = new Map();
      this.values.set(name, s);
    }
    return s;
  }

  /** The Prometheus exposition text; every known metric appears, at 0 until it moves. */
  render(prefix = 'verinfer_'): string {
    const lines: string[] = [];
    for (const name of Object.keys(METRIC_HELP) as MetricName[]) {
      lines.push(`# HELP ${prefix}${name} ${METRIC_HELP[name]}`);
      lines.push(`# TYPE ${prefix}${name} ${GAUGES.has(name) ? 'gauge' : 'counter'}`);
      const series = this.values.get(name);
      if (!series || series.size === 0) {
        lines.push(`${prefix}${name} 0`);
        continue;
      }
      for (const [labels, v] of series) lines.push(`${prefix}${name}${labels} ${v}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

function labelKey(labels: Record<string, string>): string {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return '';
  const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  return `{${entries.map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}`;
}
