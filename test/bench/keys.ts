// The figures `npm run bench` writes to its JSON (test/bench/run.ts), as issue 16 names them; the
// suite's smoke test (bench.test.ts) checks that a --quick run produces each of them.
export const KEYS = [
  'nodes', 'pods',
  'list_rps', 'list_p50_ms', 'list_p99_ms', 'stats_rps', 'stats_p99_ms', 'revalidate_rps',
  'direct_list_rps', 'direct_list_p99_ms', 'kubectl_get_nodes_ms', 'baseline_rps', 'baseline_small_rps',
  'ready_seconds', 'rss_mib', 'metrics_scrape_ms', 'eventloop_p99_ms', 'apiserver_requests_during_load',
  'drain_seconds', 'kubectl_drain_seconds', 'bare_list_seconds', 'list_gzip_rps', 'list_gzip_bytes',
  // issue 27 (65,000 nodes): a page of 500, node selection, a 10-node maintenance fit check.
  'list_page_rps', 'select_p99_ms', 'fit_check_ms',
  // /metrics both ways: per-node series forced on, and off.
  'metrics_per_node_on_scrape_ms', 'metrics_per_node_off_scrape_ms',
  // the admin UI's Nodes page in Chromium (test/bench/ui.ts)
  'ui_first_rows_ms', 'ui_filter_keystroke_ms',
] as const
