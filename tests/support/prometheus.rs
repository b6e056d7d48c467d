//! Reading Prometheus text: the Collector's own metrics (`otelcol_*`) and what its Prometheus
//! exporter serves, summed over the series a test asks about.

use std::time::Duration;

/// `GET http://127.0.0.1:{port}/metrics`.
pub async fn scrape(port: u16) -> String {
    reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics text")
}

/// The sum of every sample of `name` whose labels include each of `labels` (`key="value"`).
pub fn sum(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            (metric == name
                && labels
                    .iter()
                    .all(|(key, value)| rest.contains(&format!("{key}=\"{value}\""))))
            .then(|| value.parse::<f64>().ok())
            .flatten()
        })
        .sum::<f64>()
        + 0.0 // an empty sum is -0.0
}

#[cfg(test)]
mod tests {
    use super::sum;

    #[test]
    fn sums_the_matching_series_only() {
        let text = "# HELP x\nx_total{a=\"1\",b=\"2\"} 3\nx_total{a=\"1\",b=\"3\"} 4\nx_total{a=\"2\"} 5\nx 7\n";
        assert_eq!(sum(text, "x_total", &[("a", "1")]), 7.0);
        assert_eq!(sum(text, "x_total", &[]), 12.0);
        assert_eq!(sum(text, "x", &[]), 7.0);
        assert_eq!(sum(text, "x_total", &[("a", "9")]), 0.0);
    }
}
