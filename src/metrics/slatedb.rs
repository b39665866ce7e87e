//! SlateDB's own metrics (write path, compaction, caches, object-store calls), read from its
//! recorder at scrape time and exposed as `slatedb_*`.
use std::collections::BTreeMap;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;
use slatedb_common::metrics::{DefaultMetricsRecorder, Metric, MetricValue};

pub(super) struct SlateDbMetrics {
    recorder: Arc<DefaultMetricsRecorder>,
}

impl SlateDbMetrics {
    pub(super) fn new(recorder: Arc<DefaultMetricsRecorder>) -> Self {
        SlateDbMetrics { recorder }
    }
}

impl std::fmt::Debug for SlateDbMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlateDbMetrics").finish_non_exhaustive()
    }
}

/// A Prometheus metric name for SlateDB's dotted one (`slatedb.db.write_ops` →
/// `slatedb_db_write_ops`).
fn prometheus_name(dotted: &str) -> String {
    let mut name: String = dotted
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !name.starts_with("slatedb") {
        name.insert_str(0, "slatedb_");
    }
    name
}

fn metric_type(v: &MetricValue) -> MetricType {
    match v {
        MetricValue::Counter(_) => MetricType::Counter,
        MetricValue::Gauge(_) | MetricValue::UpDownCounter(_) => MetricType::Gauge,
        MetricValue::Histogram { .. } => MetricType::Histogram,
    }
}

impl Collector for SlateDbMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut by_name: BTreeMap<String, Vec<Metric>> = BTreeMap::new();
        for m in self.recorder.snapshot().all() {
            by_name
                .entry(prometheus_name(&m.name))
                .or_default()
                .push(m.clone());
        }
        for (name, series) in by_name {
            let Some(first) = series.first() else {
                continue;
            };
            let help = first.description.clone();
            let kind = metric_type(&first.value);
            let mut family = encoder.encode_descriptor(&name, &help, None, kind)?;
            for m in &series {
                let labels: Vec<(String, String)> = m.labels.clone();
                let mut e = family.encode_family(&labels)?;
                match &m.value {
                    MetricValue::Counter(v) => {
                        e.encode_counter::<Vec<(String, String)>, _, u64>(v, None)?
                    }
                    MetricValue::Gauge(v) | MetricValue::UpDownCounter(v) => e.encode_gauge(v)?,
                    MetricValue::Histogram {
                        count,
                        sum,
                        boundaries,
                        bucket_counts,
                        ..
                    } => {
                        let buckets: Vec<(f64, u64)> = boundaries
                            .iter()
                            .copied()
                            .chain(std::iter::once(f64::INFINITY))
                            .zip(bucket_counts.iter().copied())
                            .collect();
                        e.encode_histogram::<Vec<(String, String)>>(*sum, *count, &buckets, None)?
                    }
                }
            }
        }
        Ok(())
    }
}
