//! Matcher throughput and memory over a large generated log, against a baseline in the same run.
//!
//!     cargo run --release --example bench_matcher -- [MiB, default 256]
//!
//! The log (gunicorn/Flask/PostgreSQL-like lines with a failure every ~50k lines) is generated
//! on the fly and streamed, never held: it goes through the same bounded [`LogAssembler`] the
//! collector uses, and every line through the matcher built from all embedded rules (one
//! Aho-Corasick pass for every pattern's required literals, then the regexes of the patterns
//! whose literals the line holds). The baseline is one plain regex (`Traceback`) over the same
//! lines. Reported: MB/s for both, their
//! ratio, and peak resident memory (VmHWM), which must not grow with the log size.
use analylit_doctor::engine::matcher::Matcher;
use analylit_doctor::rules;
use analylit_doctor::stack::logs::LogAssembler;
use analylit_doctor::stack::snapshot::Stream;
use regex::Regex;
use std::time::Instant;

const LINES: [&str; 8] = [
    "2026-11-21T03:47:18.000000001Z 127.0.0.1 - - [21/Nov/2026:03:47:18 +0000] \"GET /api/settings/profiles HTTP/1.1\" 200 113 \"-\" \"curl/7.88.1\"",
    "2026-11-21T03:47:18.000000002Z [2026-11-21 03:47:17 +0000] [9] [INFO] Booting worker with pid: 9",
    "2026-11-21T03:47:18.000000003Z 2026-11-21 03:47:19.120 UTC [42] LOG:  checkpoint starting: time",
    "2026-11-21T03:47:18.000000004Z [W 261121 03:47:18 inspector:44] Inspect method reserved failed",
    "2026-11-21T03:47:18.000000005Z 2026-11-21 03:47:19,033 INFO analylit: projet 1234 analysé en 0.42 s",
    "2026-11-21T03:47:18.000000006Z   File \"/app/server_v4_complete.py\", line 40, in <module>",
    "2026-11-21T03:47:18.000000007Z 1:M 21 Nov 2026 03:47:18.000 * Background saving terminated with success",
    "2026-11-21T03:47:18.000000008Z worker: Job OK (analysis:8c1f0e2a)",
];
const FAILURE: &str = "2026-11-21T03:47:18.000000009Z NameError: name 'init_db' is not defined\n";

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Stream `mib` MiB of log through `on_line`; returns bytes generated.
fn stream_log(mib: usize, mut on_chunk: impl FnMut(&[u8])) -> usize {
    let target = mib << 20;
    let mut chunk = Vec::with_capacity(1 << 16);
    let (mut total, mut n) = (0usize, 0usize);
    while total < target {
        chunk.clear();
        while chunk.len() < (1 << 16) - 512 {
            n += 1;
            if n % 50_000 == 0 {
                chunk.extend_from_slice(FAILURE.as_bytes());
            } else {
                chunk.extend_from_slice(LINES[n % LINES.len()].as_bytes());
                chunk.push(b'\n');
            }
        }
        total += chunk.len();
        on_chunk(&chunk);
    }
    total
}

fn run(mib: usize, scan: &dyn Fn(&str) -> usize) -> (f64, usize, u64) {
    let mut hits = 0;
    let started = Instant::now();
    let bytes = stream_log(mib, |chunk| {
        // The collector's bounded assembler: memory stays flat whatever the log size.
        let mut asm = LogAssembler::new(2000, 4 << 20);
        asm.push(Stream::Stdout, chunk);
        for line in asm.finish().lines {
            hits += scan(&line.text);
        }
    });
    let secs = started.elapsed().as_secs_f64();
    (bytes as f64 / secs / 1e6, hits, vm_hwm_kib())
}

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(256);
    let set = rules::load_embedded().expect("embedded rules load");
    let matcher = Matcher::new(&set);
    let baseline_re = Regex::new("Traceback").unwrap();

    let (base_mbs, _, _) = run(mib, &|l| usize::from(baseline_re.is_match(l)));
    let (all_mbs, hits, hwm) = run(mib, &|l| matcher.rules_matching_line(l).count());
    let (_, _, hwm_small) = {
        // Memory at a quarter of the size, to show it does not grow with the log.
        run((mib / 4).max(1), &|l| {
            matcher.rules_matching_line(l).count()
        })
    };
    println!(
        "log size            {mib} MiB (streamed), {} rules",
        set.len()
    );
    println!("baseline (1 regex)  {base_mbs:8.1} MB/s");
    println!(
        "all rules           {all_mbs:8.1} MB/s  ({hits} rule hits; literal prefilter, then the candidates' regexes)"
    );
    println!("ratio all/baseline  {:8.2}", all_mbs / base_mbs);
    println!(
        "peak RSS            {} MiB (at {} MiB of log: {} MiB)",
        hwm / 1024,
        (mib / 4).max(1),
        hwm_small / 1024
    );
}
