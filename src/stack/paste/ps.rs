//! `docker-compose ps`, `docker compose ps` and `docker ps` tables: each row's status, exit code
//! and health, for a paste that has no inspect JSON.
//!
//! Compose v1 centres its headers (`Name  Command  State  Ports`, then a line of dashes) and
//! writes states from a small vocabulary (`Up (healthy)`, `Exit 3`, `Restarting`): a row is
//! read from that vocabulary, whatever the width of the command before it. Compose v2 and
//! `docker ps` align their columns under the headers (`NAME IMAGE COMMAND SERVICE CREATED
//! STATUS PORTS`, `CONTAINER ID … NAMES`): a row is cut at the headers' positions, or split at
//! runs of spaces when that gives one cell per header. A table ends at the first line that is not
//! a row.
use super::facts::{Facts, Partial, Rank, Subject, tell};
use regex::Regex;
use std::sync::LazyLock;

static V1_HEADER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*Name\s+Command\s+State\s+Ports\s*$").expect("v1 header"));
static V1_ROW: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<name>\S+)\s+(?P<cmd>.*?)\s+(?P<state>Up(?: \((?:healthy|unhealthy|health: starting)\))?|Exit -?\d+|Restarting|Paused|Ghost)(?:\s{2,}(?P<ports>.*?))?\s*$")
        .expect("v1 row")
});
static CELLS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\S+(?: \S+)*").expect("cells"));
static GAPS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\s{2,}").expect("gaps"));

/// A status cell of compose v2 / `docker ps`, read into facts.
static STATUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^(?:
            (?P<up>up|running)(?:\ [^()]*?)?(?:\ \((?P<health>healthy|unhealthy|health:\ starting|starting)\))?
          | (?P<exited>exited|exit)\ \(?(?P<code>-?\d+)\)?.*
          | (?P<restarting>restarting)(?:\ \((?P<rcode>-?\d+)\))?.*
          | (?P<created>created)
          | (?P<paused>paused|up\ .*\(paused\))
          | (?P<dead>dead)
        )\s*$",
    )
    .expect("status pattern")
});

/// Which table is being read.
enum Table {
    V1 { dashes_seen: bool },
    Columns { headers: Vec<(String, usize)> },
}

#[derive(Default)]
pub struct Reader {
    table: Option<Table>,
}

/// What the reader did with a line.
#[derive(Debug, PartialEq, Eq)]
pub enum Took {
    Header,
    /// A row, about this subject (index).
    Row(Option<usize>),
}

impl Reader {
    pub fn in_table(&self) -> bool {
        self.table.is_some()
    }

    /// Take `line` when it is a table header, or a row of the table being read. A line that is
    /// neither ends the table.
    pub fn take(&mut self, line: &str, facts: &mut Facts) -> Option<Took> {
        match &mut self.table {
            Some(Table::V1 { dashes_seen }) => {
                if !*dashes_seen && line.trim_start().starts_with("---") {
                    *dashes_seen = true;
                    return Some(Took::Header);
                }
                if let Some(c) = V1_ROW.captures(line.trim_end()) {
                    let subject = Subject::name(&c["name"]);
                    let state = c["state"].to_owned();
                    return Some(Took::Row(facts.of(&subject).map(|(i, p)| {
                        v1_state(p, &state);
                        i
                    })));
                }
            }
            Some(Table::Columns { headers }) => {
                if let Some(row) = cells(line, headers) {
                    let headers = headers.clone();
                    return Some(Took::Row(read_row(&headers, &row, facts)));
                }
            }
            None => {}
        }
        self.table = None;
        if !line.trim_start().starts_with(['N', 'C'])
            || !(line.contains("STATUS") || line.contains("State"))
        {
            return None;
        }
        if V1_HEADER.is_match(line) {
            self.table = Some(Table::V1 { dashes_seen: false });
            return Some(Took::Header);
        }
        let headers: Vec<(String, usize)> = CELLS
            .find_iter(line)
            .map(|m| (m.as_str().to_owned(), line[..m.start()].chars().count()))
            .collect();
        let has = |h: &str| headers.iter().any(|(name, _)| name == h);
        if line.starts_with(['N', 'C'])
            && has("STATUS")
            && (has("NAME") || has("NAMES"))
            && headers
                .iter()
                .all(|(h, _)| h.chars().all(|c| c.is_ascii_uppercase() || c == ' '))
        {
            self.table = Some(Table::Columns { headers });
            return Some(Took::Header);
        }
        None
    }
}

/// A row's cells, one per header: split at runs of spaces when that fits, else cut at the
/// headers' positions. `None` when the line is not a row of this table.
fn cells(line: &str, headers: &[(String, usize)]) -> Option<Vec<String>> {
    if line.trim().is_empty() || line.starts_with(' ') {
        return None;
    }
    let split: Vec<&str> = GAPS.split(line.trim_end()).collect();
    let row: Vec<String> = if split.len() == headers.len() {
        split.into_iter().map(String::from).collect()
    } else {
        let chars: Vec<char> = line.chars().collect();
        headers
            .iter()
            .enumerate()
            .map(|(i, (_, start))| {
                let end = headers.get(i + 1).map_or(chars.len(), |h| h.1);
                let (s, e) = ((*start).min(chars.len()), end.min(chars.len()));
                chars[s..e].iter().collect::<String>().trim().to_owned()
            })
            .collect()
    };
    let status = headers.iter().position(|(h, _)| h == "STATUS")?;
    STATUS.is_match(&row[status]).then_some(row)
}

fn read_row(headers: &[(String, usize)], row: &[String], facts: &mut Facts) -> Option<usize> {
    let cell = |h: &str| {
        headers
            .iter()
            .position(|(name, _)| name == h)
            .map(|i| row[i].as_str())
            .filter(|c| !c.is_empty())
    };
    let name = cell("NAME").or_else(|| cell("NAMES"));
    let subject = Subject {
        id: cell("CONTAINER ID").map(String::from),
        ..Default::default()
    }
    .with_name(name)
    .with_service(cell("SERVICE"));
    let status = cell("STATUS")?.to_owned();
    let (i, p) = facts.of(&subject)?;
    columns_status(p, &status);
    Some(i)
}

/// v1's State column: `Up (unhealthy)`, `Exit 3`, `Restarting`, `Paused`, `Ghost`.
fn v1_state(p: &mut Partial, state: &str) {
    let rank = Rank::Ps;
    if let Some(code) = state.strip_prefix("Exit ") {
        tell(&mut p.status, rank, "exited".into());
        tell(&mut p.running, rank, false);
        if let Ok(code) = code.parse() {
            tell(&mut p.exit_code, rank, code);
        }
        return;
    }
    if let Some(rest) = state.strip_prefix("Up") {
        tell(&mut p.status, rank, "running".into());
        tell(&mut p.running, rank, true);
        if let Some(h) = rest
            .trim()
            .strip_prefix('(')
            .and_then(|h| h.strip_suffix(')'))
        {
            p.health_status(rank, h.trim_start_matches("health: "));
        }
        return;
    }
    match state {
        "Restarting" => {
            tell(&mut p.status, rank, "restarting".into());
            tell(&mut p.restarting, rank, true);
            tell(&mut p.running, rank, true);
        }
        "Paused" => tell(&mut p.status, rank, "paused".into()),
        _ => tell(&mut p.status, rank, "dead".into()),
    }
}

/// v2's / `docker ps`'s STATUS: `Up 3 minutes (unhealthy)`, `Exited (3) 5 seconds ago`,
/// `Restarting (1) 2 seconds ago`, `Created`, and v2's lower-case `running (healthy)`.
fn columns_status(p: &mut Partial, status: &str) {
    let rank = Rank::Ps;
    let Some(c) = STATUS.captures(status.trim()) else {
        return;
    };
    if c.name("paused").is_some() {
        tell(&mut p.status, rank, "paused".into());
    } else if c.name("up").is_some() {
        tell(&mut p.status, rank, "running".into());
        tell(&mut p.running, rank, true);
        if let Some(h) = c.name("health") {
            let h = h.as_str().to_lowercase();
            p.health_status(rank, h.trim_start_matches("health: "));
        }
    } else if c.name("exited").is_some() {
        tell(&mut p.status, rank, "exited".into());
        tell(&mut p.running, rank, false);
        if let Ok(code) = c["code"].parse() {
            tell(&mut p.exit_code, rank, code);
        }
    } else if c.name("restarting").is_some() {
        tell(&mut p.status, rank, "restarting".into());
        tell(&mut p.restarting, rank, true);
        tell(&mut p.running, rank, true);
        if let Some(code) = c.name("rcode").and_then(|m| m.as_str().parse().ok()) {
            tell(&mut p.exit_code, rank, code);
        }
    } else if c.name("created").is_some() {
        tell(&mut p.status, rank, "created".into());
        tell(&mut p.running, rank, false);
    } else if c.name("dead").is_some() {
        tell(&mut p.status, rank, "dead".into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::collect::LogLimits;

    fn read(
        table: &str,
        project: &str,
    ) -> (
        Vec<Option<Took>>,
        Vec<crate::stack::snapshot::ContainerSnapshot>,
    ) {
        let mut f = Facts::new(LogLimits::default());
        let mut r = Reader::default();
        let took = table.lines().map(|l| r.take(l, &mut f)).collect();
        (took, f.resolve(project).containers)
    }

    fn states(
        cs: &[crate::stack::snapshot::ContainerSnapshot],
    ) -> Vec<(String, String, Option<i64>, Option<String>)> {
        cs.iter()
            .map(|c| {
                (
                    c.service.clone(),
                    c.state.status.clone(),
                    c.telling_exit_code(),
                    c.health.as_ref().map(|h| h.status.clone()),
                )
            })
            .collect()
    }

    fn row(
        s: &str,
        st: &str,
        code: Option<i64>,
        h: Option<&str>,
    ) -> (String, String, Option<i64>, Option<String>) {
        (s.into(), st.into(), code, h.map(String::from))
    }

    #[test]
    fn compose_v1_table() {
        let t = "          Name                         Command                  State                      Ports               \n\
---------------------------------------------------------------------------------------------------------------\n\
proj_db_1       docker-entrypoint.sh postgres    Up (healthy)   127.0.0.1:32776->5432/tcp          \n\
proj_web_1      ./entrypoint.sh                  Exit 3                                            \n\
proj_worker_1   rq worker --url redis://re ...   Restarting                                        \n\
proj_flower_1   celery flower                    Up (unhealthy)   5555/tcp\n\
web_1 | after the table";
        let (took, cs) = read(t, "");
        assert_eq!(took[..2], [Some(Took::Header), Some(Took::Header)]);
        assert_eq!(took[6], None, "the table ended");
        assert_eq!(
            states(&cs),
            [
                row("db", "running", Some(0), Some("healthy")),
                row("flower", "running", Some(0), Some("unhealthy")),
                row("web", "exited", Some(3), None),
                row("worker", "restarting", Some(0), None),
            ]
        );
    }

    #[test]
    fn compose_v2_and_docker_ps_tables() {
        // Compose v2 wording (hand-written: no compose v2 on the lab machine).
        let v2 = "NAME                IMAGE               COMMAND                  SERVICE             CREATED             STATUS                          PORTS\n\
analylit_web        analylit-web        \"./entrypoint.sh gun…\"   web                 10 seconds ago      Restarting (3) 2 seconds ago    \n\
analylit_db         postgres:15         \"docker-entrypoint.s…\"   db                  12 seconds ago      Up 11 seconds (healthy)         5432/tcp\n\
analylit_worker     analylit-web        \"rq worker\"              worker              12 seconds ago      Exited (137) 3 seconds ago      \n\
analylit_nginx      nginx               \"/docker-entrypoint.…\"   nginx               12 seconds ago      Created                         ";
        let (_, cs) = read(v2, "");
        assert_eq!(
            states(&cs),
            [
                row("db", "running", Some(0), Some("healthy")),
                row("nginx", "created", None, None),
                row("web", "restarting", Some(3), None),
                row("worker", "exited", Some(137), None),
            ]
        );
        assert_eq!(cs[2].name, "analylit_web");

        let ps = "CONTAINER ID   IMAGE          COMMAND                  CREATED          STATUS                      PORTS     NAMES\n\
3f2a4b5c6d7e   lab/app:4.1    \"./entrypoint.sh\"        2 minutes ago    Up 2 minutes (unhealthy)              p-web-1\n\
0a1b2c3d4e5f   postgres:15    \"docker-entrypoint.s…\"   2 minutes ago    Up 2 minutes (healthy)      5432/tcp  p-db-1";
        let (_, cs) = read(ps, "");
        assert_eq!(
            cs.iter()
                .map(|c| (c.service.as_str(), c.id.as_str()))
                .collect::<Vec<_>>(),
            [("db", "0a1b2c3d4e5f"), ("web", "3f2a4b5c6d7e")]
        );
        assert_eq!(cs[1].health.as_ref().unwrap().status, "unhealthy");
    }

    #[test]
    fn words_in_capitals_are_not_a_table() {
        let mut f = Facts::new(LogLimits::default());
        let mut r = Reader::default();
        for l in [
            "NAME: web STATUS: ok",
            "Name Command State Ports are documented below",
            "ERROR  STATUS  NAME",
        ] {
            assert_eq!(r.take(l, &mut f), None, "{l}");
        }
    }
}
