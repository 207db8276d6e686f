//! The local brokers and databases other than the platform's own (MariaDB, Redis, RabbitMQ,
//! Mosquitto, NATS) that connector tests talk to.
//!
//! A test asks [`service`] for its server. When the port does not answer, the test is skipped
//! with a note, unless `JET_TEST_REQUIRE_SERVICES=1` (CI sets it), where it fails instead: CI
//! never passes by skipping.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// The address of `name` at `address` if it answers; `None` (skip) if not, or a panic when
/// services are required.
pub fn service(name: &str, address: &str) -> Option<SocketAddr> {
    let parsed: SocketAddr = address.parse().expect("a socket address");
    if TcpStream::connect_timeout(&parsed, Duration::from_secs(2)).is_ok() {
        return Some(parsed);
    }
    if std::env::var("JET_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
        panic!("JET_TEST_REQUIRE_SERVICES=1 but {name} does not answer at {address}");
    }
    eprintln!("{name} test skipped: nothing answers at {address}");
    None
}
