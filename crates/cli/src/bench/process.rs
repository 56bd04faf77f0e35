//! A server measured from outside: a child process of its own, the address it listens on, and
//! the processor time and memory Linux accounts to it.
//!
//! The child binds port 0 and writes `serving on http://ADDR` to its standard error, which goes to
//! a file (a pipe nobody drained would fill and stall the server); the address is read from
//! there, so no port is picked in advance and raced for. The child is killed when its
//! [`ServerProcess`] is dropped, so an error or a panic here leaves no server behind.

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// How long a server may take to start listening (Baton loads and trains its assistant first).
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// What a server writes to its standard error once it listens, before the address.
pub const SERVING_ON: &str = "serving on http://";

pub struct ServerProcess {
    name: &'static str,
    child: Child,
    pub addr: SocketAddr,
    log: PathBuf,
}

impl ServerProcess {
    /// Starts `command` with its standard error in `log` and waits until it says where it listens.
    pub fn start(name: &'static str, mut command: Command, log: &Path) -> anyhow::Result<ServerProcess> {
        let stderr = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting the {name} server"))?;
        let mut server = ServerProcess {
            name,
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log: log.to_owned(),
        };
        let started = Instant::now();
        loop {
            if let Some(addr) = server.announced_addr() {
                server.addr = addr;
                return Ok(server);
            }
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "the {name} server exited ({status}) before listening:\n{}",
                    server.log_tail()
                );
            }
            if started.elapsed() > START_TIMEOUT {
                bail!(
                    "the {name} server did not listen within {} s:\n{}",
                    START_TIMEOUT.as_secs(),
                    server.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Processor time (user and system) the server has used so far, in seconds.
    pub fn cpu_seconds(&self) -> Option<f64> {
        cpu_seconds(&format!("/proc/{}/stat", self.pid()))
    }

    /// The server's resident set size in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(&format!("/proc/{}/status", self.pid()))
    }

    /// Whether the server is still running; an error with its log's end if not.
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => bail!("the {} server exited ({status}):\n{}", self.name, self.log_tail()),
        }
    }

    fn announced_addr(&self) -> Option<SocketAddr> {
        let log = std::fs::read_to_string(&self.log).ok()?;
        let line = log.lines().find(|line| line.contains(SERVING_ON))?;
        let (_, rest) = line.split_once(SERVING_ON)?;
        rest.split_whitespace().next()?.trim_end_matches('/').parse().ok()
    }

    /// The last lines of the server's standard error, for an error message.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // SIGKILL: nothing a benchmark server holds needs a graceful stop (its database is
        // a temporary one, or one whose acknowledged turns are committed).
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Processor time (user and system) of the process whose `stat` file is `path`, in seconds
/// (clock ticks of 10 ms, so meaningful over runs of seconds).
pub fn cpu_seconds(path: &str) -> Option<f64> {
    parse_cpu_seconds(&std::fs::read_to_string(path).ok()?)
}

fn parse_cpu_seconds(stat: &str) -> Option<f64> {
    const TICKS_PER_SECOND: f64 = 100.0;
    // The command name (field 2) may hold spaces and parentheses; the fields after its last
    // closing parenthesis are plain numbers, utime and stime being the 12th and 13th of them.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = rest.split_whitespace().skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some((user + system) / TICKS_PER_SECOND)
}

/// The resident set size in KiB of the process whose `status` file is `path`.
pub fn rss_kib(path: &str) -> Option<u64> {
    let status = std::fs::read_to_string(path).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The 1-, 5- and 15-minute load averages, from `/proc/loadavg`.
pub fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut fields = text.split_whitespace().map(str::parse::<f64>);
    Some([fields.next()?.ok()?, fields.next()?.ok()?, fields.next()?.ok()?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processor_time_is_user_plus_system_ticks() {
        let stat = "4242 (baton (x) y) S 1 4242 4242 0 -1 4194560 2117 0 0 0 250 50 0 0 20 0 3 0";
        assert_eq!(parse_cpu_seconds(stat), Some(3.0));
        assert_eq!(parse_cpu_seconds("4242 (baton) S 1 2"), None);
        assert_eq!(parse_cpu_seconds(""), None);
        assert_eq!(cpu_seconds("/proc/no-such-process/stat"), None);
    }

    #[test]
    fn this_process_has_a_resident_size_and_the_machine_a_load() {
        assert!(rss_kib("/proc/self/status").expect("Linux") > 0);
        assert!(load_average().expect("Linux").iter().all(|load| *load >= 0.0));
    }
}
