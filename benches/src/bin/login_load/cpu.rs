//! CPU time of processes over the measured run, from `/proc` (Linux): the generator's own and,
//! with `--cpu-of`, the server's and its database's, to see how the two cores are shared.

use std::{collections::BTreeMap, str::FromStr};

/// Processes to watch: one PID, or every process with a command name (`postgres`).
#[derive(Clone, Debug)]
pub enum Watch {
    /// One process.
    Pid(u32),
    /// Every process whose command name (`/proc/PID/comm`, at most 15 bytes) is this.
    Name(String),
}

impl FromStr for Watch {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.parse() {
            Ok(pid) => Ok(Watch::Pid(pid)),
            Err(_) if !text.is_empty() => Ok(Watch::Name(text.to_owned())),
            Err(_) => Err("give a PID or a command name".into()),
        }
    }
}

impl std::fmt::Display for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Watch::Pid(pid) => write!(f, "pid {pid}"),
            Watch::Name(name) => f.write_str(name),
        }
    }
}

/// Clock ticks (user + system) of each matching process at one moment.
pub struct Sample(BTreeMap<u32, u64>);

impl Watch {
    /// The CPU ticks of the matching processes now.
    pub fn sample(&self) -> Sample {
        let pids: Vec<u32> = match self {
            Watch::Pid(pid) => vec![*pid],
            Watch::Name(name) => std::fs::read_dir("/proc")
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
                .filter(|pid| {
                    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim_end() == name)
                })
                .collect(),
        };
        Sample(pids.into_iter().filter_map(|pid| Some((pid, ticks(pid)?))).collect())
    }
}

impl Sample {
    /// CPU seconds used between `earlier` and this sample by the processes alive now (those
    /// started in between count from zero; those that exited in between are lost). `None` when
    /// no process matched.
    pub fn seconds_since(&self, earlier: &Sample) -> Option<f64> {
        if self.0.is_empty() {
            return None;
        }
        let ticks: u64 =
            self.0.iter().map(|(pid, now)| now.saturating_sub(earlier.0.get(pid).copied().unwrap_or(0))).sum();
        // USER_HZ, the unit of /proc/PID/stat times, is 100 on every architecture Linux supports.
        Some(ticks as f64 / 100.0)
    }
}

/// User + system clock ticks of `pid` (all its threads), from `/proc/PID/stat`.
fn ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the parenthesized command name, field 3 (state) comes first: utime is field 14,
    // stime field 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watches_this_process() {
        let me = Watch::Pid(std::process::id());
        let before = me.sample();
        let spin = std::time::Instant::now();
        // Burn CPU until a clock tick is accounted (10 ms of CPU; wall time may be longer).
        while me.sample().seconds_since(&before) == Some(0.0) {
            assert!(spin.elapsed().as_secs() < 10, "no CPU time accounted");
            std::hint::black_box((0..10_000u64).sum::<u64>());
        }
        assert!(Watch::Name("no-such-process-name".into()).sample().seconds_since(&before).is_none());
        assert!(matches!("postgres".parse(), Ok(Watch::Name(name)) if name == "postgres"));
        assert!(matches!("42".parse(), Ok(Watch::Pid(42))));
    }
}
