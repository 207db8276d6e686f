//! Driving `wrk` and reading its report (`--latency` gives the percentiles).

use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use super::load::{CONCURRENCY, MEASURE, Stats, WARMUP};
use super::server::pinned_command;

/// Whether `wrk` is on the `PATH`.
pub fn installed() -> bool {
    // `wrk` without arguments prints its usage and exits 1; a missing binary fails to spawn.
    Command::new("wrk")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// A warm-up run (discarded), then the measured run.
pub fn measure(url: &str, authorization: Option<&str>, cpu: Option<usize>) -> Result<Stats> {
    run(url, authorization, cpu, WARMUP.as_secs())?;
    let report = run(url, authorization, cpu, MEASURE.as_secs())?;
    parse(&report).with_context(|| format!("wrk's report for {url}:\n{report}"))
}

fn run(url: &str, authorization: Option<&str>, cpu: Option<usize>, secs: u64) -> Result<String> {
    let mut command = pinned_command("wrk", cpu);
    command.args([
        "--threads",
        "1",
        "--connections",
        &CONCURRENCY.to_string(),
        "--duration",
        &format!("{secs}s"),
        "--latency",
    ]);
    if let Some(value) = authorization {
        command.args(["--header", &format!("Authorization: {value}")]);
    }
    let output = command.arg(url).output().context("run wrk")?;
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!(
            "wrk failed ({}): {report}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(report)
}

/// Reads throughput and the 50th/99th percentiles; a report with errors or non-2xx answers is
/// an error (an unauthorised read measures the 401 path, not the route).
fn parse(report: &str) -> Result<Stats> {
    if let Some(line) = report
        .lines()
        .find(|l| l.contains("Non-2xx or 3xx responses") || l.contains("Socket errors"))
    {
        bail!("failed requests: {}", line.trim());
    }
    let field = |label: &str| {
        report
            .lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix(label))
            .map(str::trim)
            .with_context(|| format!("no `{label}` line"))
    };
    let throughput: f64 = field("Requests/sec:")?
        .parse()
        .context("Requests/sec is not a number")?;
    Ok(Stats {
        throughput,
        p50_ms: duration_ms(field("50%")?)?,
        p99_ms: duration_ms(field("99%")?)?,
    })
}

/// `812.00us`, `1.23ms`, `2.01s`, `1.50m` → milliseconds.
fn duration_ms(text: &str) -> Result<f64> {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .with_context(|| format!("no unit in `{text}`"))?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .with_context(|| format!("`{text}` is not a duration"))?;
    let scale = match unit {
        "us" => 0.001,
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        other => bail!("unknown unit `{other}` in `{text}`"),
    };
    Ok(value * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Running 10s test @ http://127.0.0.1:8080/health
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.21ms  301.12us   9.80ms   90.12%
    Req/Sec    52.10k     1.20k   54.00k    80.00%
  Latency Distribution
     50%    1.15ms
     75%    1.30ms
     90%    1.50ms
     99%    2.10ms
  518000 requests in 10.00s, 60.00MB read
Requests/sec:  51800.12
Transfer/sec:      6.00MB
";

    #[test]
    fn reads_throughput_and_percentiles() -> Result<()> {
        let stats = parse(REPORT)?;
        assert!((stats.throughput - 51800.12).abs() < 1e-6);
        assert!((stats.p50_ms - 1.15).abs() < 1e-9);
        assert!((stats.p99_ms - 2.10).abs() < 1e-9);
        Ok(())
    }

    #[test]
    fn refuses_a_report_with_failed_requests() {
        let failed = REPORT.replace(
            "Requests/sec:",
            "  Non-2xx or 3xx responses: 12\nRequests/sec:",
        );
        assert!(parse(&failed).is_err());
    }

    #[test]
    fn converts_every_unit() -> Result<()> {
        assert!((duration_ms("812.00us")? - 0.812).abs() < 1e-9);
        assert!((duration_ms("2.01s")? - 2010.0).abs() < 1e-9);
        assert!((duration_ms("1.50m")? - 90_000.0).abs() < 1e-9);
        assert!(duration_ms("3.00h").is_err());
        Ok(())
    }
}
