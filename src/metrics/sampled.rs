//! Figures read at scrape time from the part that keeps them.
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

/// A figure with its name (prefixed `slatenfs_`), help text, kind, and how to read it.
pub struct SampledValue {
    pub name: &'static str,
    pub help: &'static str,
    /// A counter (only grows) rather than a gauge.
    pub counter: bool,
    pub read: Box<dyn Fn() -> u64 + Send + Sync>,
}

pub(super) struct Sampled(Vec<SampledValue>);

impl Sampled {
    pub(super) fn new(values: Vec<SampledValue>) -> Self {
        Sampled(values)
    }
}

impl std::fmt::Debug for Sampled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|v| v.name))
            .finish()
    }
}

impl Collector for Sampled {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for v in &self.0 {
            let name = format!("slatenfs_{}", v.name);
            let value = (v.read)();
            if v.counter {
                let m = ConstCounter::new(value);
                let e = encoder.encode_descriptor(&name, v.help, None, MetricType::Counter)?;
                m.encode(e)?;
            } else {
                let m = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
                let e = encoder.encode_descriptor(&name, v.help, None, MetricType::Gauge)?;
                m.encode(e)?;
            }
        }
        Ok(())
    }
}
