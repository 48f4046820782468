//! When no rule explains a failing service, the doctor still owes an answer: the service's
//! state, the last Python exception with its file:line, the last gunicorn `Reason:` line and the
//! last FATAL line — the lines a person would scroll for.
use super::finding::Evidence;
use crate::stack::snapshot::ContainerSnapshot;
use regex::Regex;
use std::sync::LazyLock;

pub const ID: &str = "unclassified-failure";

static EXCEPTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[\w.]+\.)?[A-Z]\w*(?:Error|Exception|Exit|Interrupt|error|Warning)(?::\s.*)?$")
        .expect("exception pattern")
});
static FRAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"^\s*File "([^"]+)", line (\d+)"#).expect("frame pattern"));
static LAST_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Reason: .*|\bFATAL\b.*|\bPANIC\b.*|\[CRITICAL\].*").expect("last-words pattern")
});

/// Whether a container is failing: unhealthy, restarting, exited non-zero, or dead.
pub fn is_failing(c: &ContainerSnapshot) -> bool {
    let unhealthy = c.health.as_ref().is_some_and(|h| h.status == "unhealthy");
    let crashed = matches!(c.state.status.as_str(), "exited" | "dead") && c.state.exit_code != 0;
    unhealthy || crashed || c.state.restarting || c.state.status == "restarting"
}

/// The decisive lines of a failing container, most telling first.
pub fn evidence(c: &ContainerSnapshot) -> (String, Vec<Evidence>) {
    let lines = &c.logs.lines;
    let mut out = Vec::new();
    let mut summary = None;

    if let Some(i) = lines
        .iter()
        .rposition(|l| EXCEPTION.is_match(l.text.trim_end()))
    {
        let exc = &lines[i];
        let frame = lines[..i]
            .iter()
            .rev()
            .take(40)
            .find_map(|l| FRAME.captures(&l.text))
            .map(|caps| format!("{}:{}", &caps[1], &caps[2]));
        summary = Some(match &frame {
            Some(at) => format!("{} (at {at})", exc.text.trim()),
            None => exc.text.trim().to_string(),
        });
        out.push(log(c, exc));
        if let Some(frame_line) = lines[..i]
            .iter()
            .rev()
            .take(40)
            .find(|l| FRAME.is_match(&l.text))
        {
            out.push(log(c, frame_line));
        }
    }
    if let Some(l) = lines.iter().rev().find(|l| LAST_WORDS.is_match(&l.text)) {
        if summary.is_none() {
            summary = Some(l.text.trim().to_string());
        }
        out.push(log(c, l));
    }
    if let Some(h) = &c.health
        && let Some(last) = h.log.last()
    {
        let text = last.output.trim();
        if !text.is_empty() {
            out.push(Evidence::Health {
                container: c.name.clone(),
                exit_code: last.exit_code,
                text: text.lines().last().unwrap_or(text).to_string(),
            });
            summary.get_or_insert_with(|| {
                format!(
                    "health check fails: {}",
                    text.lines().last().unwrap_or(text)
                )
            });
        }
    }
    out.extend(state_evidence(c));
    let summary = summary.unwrap_or_else(|| {
        format!(
            "{} is {} (exit code {}) and its log names no cause",
            c.service,
            state_word(c),
            c.state.exit_code
        )
    });
    (summary, out)
}

fn log(c: &ContainerSnapshot, l: &crate::stack::snapshot::LogLine) -> Evidence {
    Evidence::Log {
        container: c.name.clone(),
        ts: l.ts.clone(),
        text: l.text.clone(),
        occurrences: 1,
    }
}

pub fn state_word(c: &ContainerSnapshot) -> String {
    match &c.health {
        Some(h) if c.state.status == "running" => format!("running ({})", h.status),
        _ => c.state.status.clone(),
    }
}

/// The state fields that show a container is failing.
pub fn state_evidence(c: &ContainerSnapshot) -> Vec<Evidence> {
    let mut out = vec![Evidence::State {
        container: c.name.clone(),
        field: "status".into(),
        value: state_word(c),
    }];
    let mut field = |f: &str, v: String| {
        out.push(Evidence::State {
            container: c.name.clone(),
            field: f.into(),
            value: v,
        })
    };
    match c.telling_exit_code() {
        Some(code) if code != 0 && c.state.running && c.state.exit_code == 0 => {
            // Running again after a crash: the code comes from the last `die` event.
            field("exit_code", format!("{code} (last run)"));
        }
        _ if c.state.exit_code != 0 => field("exit_code", c.state.exit_code.to_string()),
        _ => {}
    }
    if c.restart_count > 0 {
        field("restarts", c.restart_count.to_string());
    }
    if c.state.oom_killed {
        field("oom_killed", "true".into());
    } else if c.oom_killed_recently() {
        field(
            "oom_killed",
            "true (last run, from the engine's events)".into(),
        );
    }
    if !c.state.error.is_empty() {
        field("error", c.state.error.clone());
    }
    out
}
