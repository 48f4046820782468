//! The kernel's OOM-killer lines (`dmesg`, `journalctl -k`): the only witness of a kill when the
//! container's own log is silent and its inspect data is gone.
//!
//! An OOM kill is an episode of lines: `<process> invoked oom-killer: …`, the call trace, the
//! cgroup's usage against its limit (`memory: usage 65536kB, limit 65536kB, …`), `Memory cgroup
//! stats for /docker/<id>:`, the task table, then `oom-kill:constraint=…,task_memcg=/docker/<id>,
//! task=python3,pid=…` and `Memory cgroup out of memory: Killed process <pid> (<process>) …`. The
//! cgroup path names the container by its id (cgroup v1 `/docker/<id>`, v2
//! `/system.slice/docker-<id>.scope`): when the paste carries that id elsewhere (inspect, events),
//! the kill lands on that container; otherwise on the service the paste was given for, else on a
//! container named after the killed process. Each kill is an `oom` event on the container, which
//! is what the `oom-killed` rule reads; the cgroup's limit becomes its memory limit.
//!
//! Lines may carry `[12345.678901] `, `[Sat Dec  6 10:00:01 2026] ` (dmesg -T) or a journal's
//! `Dec 06 10:00:01 host kernel: ` in front, or nothing. Other kernel lines inside an episode are
//! taken (and shown as ignored), so they do not end up in a service's log.
use super::facts::{Facts, Subject};
use crate::stack::snapshot::ContainerEvent;
use regex::Regex;
use std::sync::LazyLock;

/// `[  12.345678] `, `[Sat Dec  6 10:00:01 2026] `, `Dec 06 10:00:01 host kernel: `,
/// `2026-12-06T10:00:01+0000 host kernel: `, `kernel: `.
static PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:(?P<journal>[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\S*) \S+ kernel: |kernel: )?",
        r"(?:\[ *\d+\.\d+\] ?|\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}\] ?)?",
    ))
    .expect("kernel prefix")
});
static INVOKED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<proc>\S.*?) invoked oom-killer: ").expect("invoked pattern")
});
static KILLED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:Memory cgroup out of memory|Out of memory(?: \(oom_kill_allocating_task\))?): Killed process (?P<pid>\d+) \((?P<proc>[^)]*)\)",
    )
    .expect("killed pattern")
});
static LIMIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^memory: usage \d+kB, limit (?P<kb>\d+)kB, failcnt \d+").expect("limit pattern")
});
static STATS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^Memory cgroup stats for (?P<cg>\S+?):?$").expect("stats pattern")
});
/// A container id in a cgroup path: `/docker/<id>`, `docker-<id>.scope`.
static CGROUP_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"docker[-/]([0-9a-f]{64})").expect("cgroup id pattern"));

/// A cgroup limit this large is no limit (the kernel's "max").
const NO_LIMIT_KB: i64 = 1 << 40;

/// Whether a line can be the kernel's: a dmesg stamp (`[  12.3]`, `[Sat Dec …]`), a journal's
/// `kernel: `, or one of the OOM lines' own words. Checked first, so the patterns run on few
/// lines of a long log (`[2024-05-02 10:00:00 +0000]` is gunicorn's, not the kernel's).
fn may_be_kernel(line: &str) -> bool {
    let dmesg_stamp = line.strip_prefix('[').is_some_and(|rest| {
        let rest = rest.trim_start();
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        (digits > 0 && rest.as_bytes().get(digits) == Some(&b'.'))
            || rest.get(..4).is_some_and(|day| {
                day.ends_with(' ') && day[..3].bytes().all(|b| b.is_ascii_alphabetic())
            })
    });
    dmesg_stamp
        || line.contains("kernel: ")
        || line.contains("oom")
        || line.contains("Killed process")
        || line.starts_with("memory: ")
        || line.starts_with("Memory cgroup")
}

#[derive(Default)]
struct Episode {
    process: Option<String>,
    cgroup_id: Option<String>,
    limit_kb: Option<i64>,
}

/// What the kernel reader did with a line.
#[derive(Debug, PartialEq, Eq)]
pub enum Took {
    /// A kill, on this subject (index).
    Kill(Option<usize>),
    /// A line of an OOM episode that says something on its way to the kill.
    Episode,
    /// A kernel line that says nothing about OOM kills.
    Other,
}

#[derive(Default)]
pub struct Reader {
    episode: Option<Episode>,
    /// The pid of the last kill recorded, so `oom-kill:` and `Killed process` count once.
    last_pid: Option<String>,
}

impl Reader {
    /// Take `line` when it is a kernel line. `given` is the service the paste was given for
    /// (`SERVICE=FILE`), which a kill with no known container id lands on.
    pub fn take(&mut self, line: &str, given: Option<&str>, facts: &mut Facts) -> Option<Took> {
        if !may_be_kernel(line) {
            return None;
        }
        let caps = PREFIX.captures(line)?;
        let prefixed = caps.get(0).is_some_and(|m| m.end() > 0);
        let time = caps
            .name("journal")
            .map(|m| m.as_str())
            .filter(|t| t.as_bytes()[0].is_ascii_digit())
            .unwrap_or_default()
            .to_owned();
        let body = &line[caps.get(0).map_or(0, |m| m.end())..];
        if let Some(c) = INVOKED.captures(body) {
            self.episode = Some(Episode {
                process: Some(c["proc"].to_owned()),
                ..Default::default()
            });
            return Some(Took::Episode);
        }
        if let Some(c) = LIMIT.captures(body) {
            let e = self.episode.get_or_insert_with(Episode::default);
            e.limit_kb = c["kb"].parse().ok();
            return Some(Took::Episode);
        }
        if let Some(c) = STATS.captures(body) {
            let e = self.episode.get_or_insert_with(Episode::default);
            e.cgroup_id = CGROUP_ID.captures(&c["cg"]).map(|m| m[1].to_owned());
            return Some(Took::Episode);
        }
        if let Some(kv) = body.strip_prefix("oom-kill:") {
            let field = |key: &str| {
                kv.split(',')
                    .find_map(|f| f.strip_prefix(key)?.strip_prefix('='))
                    .map(String::from)
            };
            let cgroup = field("task_memcg")
                .or_else(|| field("oom_memcg"))
                .and_then(|cg| CGROUP_ID.captures(&cg).map(|m| m[1].to_owned()));
            return Some(Took::Kill(self.kill(
                field("pid"),
                field("task"),
                cgroup,
                &time,
                given,
                facts,
            )));
        }
        if let Some(c) = KILLED.captures(body) {
            let pid = c["pid"].to_owned();
            if self.last_pid.as_deref() == Some(pid.as_str()) {
                self.episode = None;
                return Some(Took::Episode);
            }
            let kill = self.kill(
                Some(pid),
                Some(c["proc"].to_owned()),
                None,
                &time,
                given,
                facts,
            );
            self.episode = None;
            return Some(Took::Kill(kill));
        }
        if body.starts_with("oom_reaper: ") {
            return Some(Took::Episode);
        }
        // Any other line with a kernel prefix: the trace, the task table, unrelated messages.
        prefixed.then(|| {
            if self.episode.is_some() {
                Took::Episode
            } else {
                Took::Other
            }
        })
    }

    fn kill(
        &mut self,
        pid: Option<String>,
        process: Option<String>,
        cgroup_id: Option<String>,
        time: &str,
        given: Option<&str>,
        facts: &mut Facts,
    ) -> Option<usize> {
        let episode = self.episode.take().unwrap_or_default();
        self.last_pid = pid;
        let process = process
            .or(episode.process)
            .unwrap_or_else(|| "unknown".into());
        let subject = match cgroup_id.or(episode.cgroup_id) {
            Some(id) => Subject {
                id: Some(id),
                fallback: Some(given.unwrap_or(&process).to_owned()),
                ..Default::default()
            },
            None => match given {
                Some(service) => Subject::service(service),
                None => Subject::fallback(&process),
            },
        };
        let (index, p) = facts.of(&subject)?;
        p.event(ContainerEvent {
            time: time.to_owned(),
            action: "oom".into(),
            exit_code: None,
            signal: None,
        });
        if let Some(kb) = episode.limit_kb.filter(|kb| *kb < NO_LIMIT_KB)
            && p.config.memory_limit.is_none()
        {
            p.config.memory_limit = Some(kb * 1024);
        }
        Some(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::collect::LogLimits;

    const ID: &str = "38b840705aa2b209212aae99ca2a71f92dcdeaea90ed76bc3f34b004c1cc5c36";

    fn episode(prefix: &str, cgroup: &str) -> Vec<String> {
        [
            "python3 invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, oom_score_adj=0".to_owned(),
            "Call Trace:".to_owned(),
            " dump_stack_lvl+0x5d/0x80".to_owned(),
            "memory: usage 65536kB, limit 65536kB, failcnt 5481".to_owned(),
            format!("Memory cgroup stats for {cgroup}:"),
            "[  15483]     0 15483    21077    16176    16155       21         0   204800        0             0 python3".to_owned(),
            format!("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset={ID},mems_allowed=0,oom_memcg={cgroup},task_memcg={cgroup},task=python3,pid=15483,uid=0"),
            "Memory cgroup out of memory: Killed process 15483 (python3) total-vm:84308kB, anon-rss:64620kB, file-rss:84kB, shmem-rss:0kB, UID:0 pgtables:200kB oom_score_adj:0".to_owned(),
        ]
        .into_iter()
        .map(|l| format!("{prefix}{l}"))
        .collect()
    }

    fn run(lines: &[String], given: Option<&str>, f: &mut Facts) -> Vec<Option<Took>> {
        let mut r = Reader::default();
        lines.iter().map(|l| r.take(l, given, f)).collect()
    }

    #[test]
    fn one_kill_per_episode_with_or_without_prefixes_cgroup_v1_and_v2() {
        for (prefix, cgroup) in [
            ("[ 1261.680761] ", format!("/docker/{ID}")),
            (
                "Dec 06 04:06:21 lab kernel: ",
                format!("/system.slice/docker-{ID}.scope"),
            ),
            ("[Sun Dec  6 04:06:21 2026] ", format!("/docker/{ID}")),
            ("", format!("/docker/{ID}")),
        ] {
            let mut f = Facts::new(LogLimits::default());
            let took = run(&episode(prefix, &cgroup), None, &mut f);
            let kills = took
                .iter()
                .filter(|t| matches!(t, Some(Took::Kill(_))))
                .count();
            assert_eq!(kills, 1, "{prefix:?}: {took:?}");
            if prefix.is_empty() {
                // Unprefixed trace and task lines are not the kernel's to claim.
                assert_eq!(took[2], None);
            } else {
                assert!(took.iter().all(Option::is_some), "{took:?}");
            }
            // The id is carried by inspect elsewhere in the paste: the kill is that container's.
            let s = Subject::id(ID)
                .with_name(Some("/oom-killed_worker_1"))
                .with_service(Some("worker"));
            f.of(&s).unwrap();
            let r = f.resolve("");
            assert_eq!(r.containers.len(), 1);
            let c = &r.containers[0];
            assert_eq!(c.service, "worker");
            assert!(c.oom_killed_recently());
            assert_eq!(c.memory_limit, 64 << 20);
        }
    }

    #[test]
    fn without_a_known_id_the_kill_names_the_process_or_the_given_service() {
        let lines = episode("[ 1.0] ", &format!("/docker/{ID}"));
        let mut f = Facts::new(LogLimits::default());
        run(&lines, None, &mut f);
        assert_eq!(f.resolve("").containers[0].service, "python3");
        let mut f = Facts::new(LogLimits::default());
        run(&lines, Some("worker"), &mut f);
        assert_eq!(f.resolve("").containers[0].service, "worker");
        let global = ["[ 2.0] Out of memory: Killed process 77 (gunicorn) total-vm:1kB".to_owned()];
        let mut f = Facts::new(LogLimits::default());
        assert!(matches!(
            run(&global, None, &mut f)[0],
            Some(Took::Kill(Some(_)))
        ));
        assert_eq!(f.resolve("").containers[0].service, "gunicorn");
    }

    #[test]
    fn log_lines_that_mention_memory_are_not_kernel_lines() {
        let mut f = Facts::new(LogLimits::default());
        let mut r = Reader::default();
        for l in [
            "MemoryError",
            "[2024-05-02 10:00:00 +0000] [8] [INFO] Killed process 12 (worker)",
            "worker_1 | Killed",
            "WARNING: memory usage high",
        ] {
            assert_eq!(r.take(l, None, &mut f), None, "{l}");
        }
    }
}
