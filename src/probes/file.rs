//! The `file` probe: can the container's user write the path its error names, and what is that
//! path?
//!
//! `[Errno 13] Permission denied: '/data/flower.db'` says *that* a write failed, not why. The
//! probe reads the path's owner and mode (or its parent directory's, for a file not yet created)
//! through the archive endpoint, resolves the container's user (`Config.User`, a name looked up in
//! the image's `/etc/passwd`), finds the mount that holds the path, and answers: not writable by
//! that user, on a read-only mount, or a directory where a file is expected.
use super::archive::{self, ArchiveError, Entry};
use super::{Ctx, Outcome, ProbeResult};
use crate::rules::Expectation;
use crate::rules::{FileExpectation, ProbeSpec};
use crate::stack::snapshot::{ContainerSnapshot, Mount};
use regex::Regex;
use std::sync::OnceLock;

/// The first absolute path an error quotes: `'/data/flower.db'`, `"/var/lib/postgresql/data"`.
fn path_in(hints: &[String]) -> Option<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    // Quoted (Python, initdb), or Redis's `(in server root dir /data)`.
    let re = RE.get_or_init(|| {
        Regex::new(r#"['"](/[^'"\s]*)['"]|server root dir (/[^)\s]*)"#).expect("regex")
    });
    hints
        .iter()
        .find_map(|h| re.captures(h))
        .and_then(|c| c.get(1).or(c.get(2)))
        .map(|m| m.as_str().trim_end_matches('/').to_owned())
        .map(|p| if p.is_empty() { "/".into() } else { p })
}

/// The mount that holds `path`: the one with the longest destination that prefixes it.
fn mount_of<'c>(c: &'c ContainerSnapshot, path: &str) -> Option<&'c Mount> {
    c.mounts
        .iter()
        .filter(|m| {
            let d = m.destination.trim_end_matches('/');
            path == d || path.starts_with(&format!("{d}/")) || d.is_empty()
        })
        .max_by_key(|m| m.destination.len())
}

/// uid and gid of `Config.User` (`1000`, `1000:1000`, `flower`, `nobody:nogroup`); names are
/// looked up in the image's `/etc/passwd`. Empty means root.
async fn user_ids(ctx: &Ctx<'_>, user: &str) -> Result<(u64, Option<u64>), String> {
    let (u, g) = user.split_once(':').unwrap_or((user, ""));
    if u.is_empty() {
        return Ok((0, Some(0)));
    }
    let gid = g.parse().ok();
    if let Ok(uid) = u.parse() {
        return Ok((uid, gid));
    }
    let docker = ctx.docker().map_err(|e| e.to_string())?;
    let passwd = archive::read(
        docker,
        &ctx.container.id,
        "/etc/passwd",
        256 * 1024,
        ctx.opts.timeout,
    )
    .await
    .map_err(|e| format!("/etc/passwd: {e}"))?;
    let Entry::File { head, .. } = passwd else {
        return Err("/etc/passwd is not a file".into());
    };
    String::from_utf8_lossy(&head)
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 3 && f[0] == u)
        .and_then(|f| Some((f[2].parse().ok()?, gid.or(f[3].parse().ok()))))
        .ok_or_else(|| format!("user `{u}` is not in the image's /etc/passwd"))
}

/// Whether `uid`/`gid` may write an inode with `owner`/`group`/`mode` (root always may).
fn may_write(uid: u64, gid: Option<u64>, owner: u64, group: u64, mode: u32) -> bool {
    uid == 0
        || (owner == uid && mode & 0o200 != 0)
        || (gid == Some(group) && mode & 0o020 != 0)
        || mode & 0o002 != 0
}

/// Judge every `file` spec for `ctx.container` on the path its errors name.
pub async fn probe(expects: &[FileExpectation], ctx: &Ctx<'_>) -> Vec<ProbeResult> {
    let specs: Vec<ProbeSpec> = expects.iter().map(|e| e.spec()).collect();
    let c = ctx.container;
    let all = |f: &dyn Fn(&ProbeSpec) -> ProbeResult| specs.iter().map(f).collect::<Vec<_>>();
    let Some(path) = path_in(ctx.hints) else {
        return all(&|s| ProbeResult::unknown(s, "the error names no path".into(), &[]));
    };
    let docker = match ctx.docker() {
        Ok(d) => d,
        Err(why) => return all(&|s| ProbeResult::unknown(s, why.to_string(), &[])),
    };
    let mount = mount_of(c, &path);
    let mut facts = vec![match mount {
        Some(m) => format!(
            "{path} is on the {} mount {} → {} ({})",
            m.kind,
            m.source,
            m.destination,
            if m.rw { "rw" } else { "ro" }
        ),
        None => format!("{path} is in the container's own filesystem"),
    }];
    let t = ctx.opts.timeout;
    // The path itself, or its parent when it does not exist yet (creating it needs the parent).
    let mut entry = archive::read(docker, &c.id, &path, 0, t).await;
    let mut checked = path.clone();
    if matches!(entry, Err(ArchiveError::Absent(_))) {
        let parent = path
            .rsplit_once('/')
            .map(|(p, _)| p)
            .filter(|p| !p.is_empty())
            .unwrap_or("/");
        facts.push(format!(
            "{path} does not exist; its directory {parent} must be writable"
        ));
        checked = parent.to_owned();
        entry = archive::read(docker, &c.id, parent, 0, t).await;
    }
    let entry = match entry {
        Ok(e) => e,
        Err(e) => {
            let why = format!("{checked}: {e}");
            return all(&|s| ProbeResult::unknown(s, why.clone(), &facts));
        }
    };
    let user = if c.user.is_empty() {
        "root (image default)".to_owned()
    } else {
        c.user.clone()
    };
    let ids = user_ids(ctx, &c.user).await;
    let owner = match &entry {
        Entry::File { uid, gid, mode, .. } | Entry::Dir { uid, gid, mode, .. } => {
            facts.push(format!(
                "{checked}: owner {uid}:{gid}, mode {:04o}",
                mode & 0o7777
            ));
            Some((*uid, *gid, *mode))
        }
        other => {
            facts.push(format!(
                "{} is neither a file nor a directory",
                other.path()
            ));
            None
        }
    };
    match &ids {
        Ok((uid, gid)) => facts.push(format!(
            "{} runs as {user} (uid {uid}{})",
            c.name,
            gid.map(|g| format!(", gid {g}")).unwrap_or_default()
        )),
        Err(e) => facts.push(e.clone()),
    }
    let is_dir = checked == path && matches!(entry, Entry::Dir { .. });
    specs.iter().zip(expects).map(|(spec, expect)| {
        let r = |o: Outcome, s: String| {
            let mut r = ProbeResult::new(spec, o, s, &facts)
                .with("path", path.clone())
                .with("checked", checked.clone());
            if let Ok((uid, gid)) = &ids {
                r = r.with("uid", uid.to_string());
                if let Some(g) = gid {
                    r = r.with("gid", g.to_string());
                }
            }
            r
        };
        match expect {
            FileExpectation::ReadOnlyMount => match mount {
                Some(m) if !m.rw => r(
                    Outcome::Confirmed,
                    format!("{path} is on a read-only mount ({})", m.destination),
                ),
                _ => r(
                    Outcome::RuledOut,
                    format!("{path} is not on a read-only mount"),
                ),
            },
            FileExpectation::IsDirectory => {
                if is_dir {
                    r(Outcome::Confirmed, format!("{path} is a directory"))
                } else {
                    r(Outcome::RuledOut, format!("{path} is not a directory"))
                }
            }
            FileExpectation::NotOwner => {
                let (Ok((uid, _)), Some((o, g, _))) = (&ids, owner) else {
                    return ProbeResult::unknown(
                        spec,
                        "cannot tell the owner or the user".into(),
                        &facts,
                    );
                };
                if *uid == 0 {
                    // An entrypoint started as root drops to the server's own user, which the
                    // container's configuration does not say.
                    ProbeResult::unknown(
                        spec,
                        format!(
                            "{} starts as root: the uid its server runs as is not known",
                            c.name
                        ),
                        &facts,
                    )
                } else if o == *uid {
                    r(
                        Outcome::RuledOut,
                        format!("{checked} belongs to {user} (uid {uid})"),
                    )
                } else {
                    r(
                        Outcome::Confirmed,
                        format!("{checked} belongs to {o}:{g}, while {user} runs as uid {uid}"),
                    )
                }
            }
            FileExpectation::ModeTooOpen => match owner {
                Some((_, _, mode)) if checked == path => {
                    if mode & 0o027 != 0 {
                        r(
                            Outcome::Confirmed,
                            format!(
                                "{path} has mode {:04o}: more than u=rwx,g=rx",
                                mode & 0o7777
                            ),
                        )
                    } else {
                        r(
                            Outcome::RuledOut,
                            format!("{path} has mode {:04o}", mode & 0o7777),
                        )
                    }
                }
                _ => ProbeResult::unknown(spec, format!("{path}: no mode to read"), &facts),
            },
            FileExpectation::NotWritable => {
                let (Ok((uid, gid)), Some((o, g, mode))) = (&ids, owner) else {
                    return ProbeResult::unknown(
                        spec,
                        "cannot tell the owner or the user".into(),
                        &facts,
                    );
                };
                if mount.is_some_and(|m| !m.rw) {
                    r(
                        Outcome::RuledOut,
                        format!("{path} is on a read-only mount: that is the cause"),
                    )
                } else if may_write(*uid, *gid, o, g, mode) {
                    r(Outcome::RuledOut, format!("{user} may write {checked}"))
                } else {
                    r(
                        Outcome::Confirmed,
                        format!(
                            "{checked} belongs to {o}:{g} with mode {:04o}: {user} (uid {uid}) cannot write it",
                            mode & 0o7777
                        ),
                    )
                }
            }
        }
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_an_error_quotes() {
        let h = |s: &str| vec![s.to_owned()];
        assert_eq!(
            path_in(&h(
                "_gdbm.error: [Errno 13] Permission denied: '/data/flower.db'"
            ))
            .as_deref(),
            Some("/data/flower.db")
        );
        assert_eq!(
            path_in(&h(r#"initdb: error: could not access directory "/var/lib/postgresql/data/": Permission denied"#)).as_deref(),
            Some("/var/lib/postgresql/data")
        );
        assert_eq!(
            path_in(&h("Failed opening the temp RDB file temp-31.rdb (in server root dir /data) for saving: Permission denied")).as_deref(),
            Some("/data")
        );
        assert_eq!(path_in(&h("Permission denied")), None);
    }

    #[test]
    fn write_permission_by_owner_group_other_and_root() {
        assert!(may_write(0, Some(0), 1000, 1000, 0o400));
        assert!(may_write(1000, None, 1000, 1000, 0o644));
        assert!(!may_write(1000, Some(1000), 0, 0, 0o644));
        assert!(may_write(1000, Some(50), 0, 50, 0o664));
        assert!(may_write(1000, None, 0, 0, 0o666));
    }
}
