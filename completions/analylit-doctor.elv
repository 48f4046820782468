
use builtin;
use str;

set edit:completion:arg-completer[analylit-doctor] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'analylit-doctor'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'analylit-doctor'= {
            cand --redact 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand check 'Inspect the running compose project and report root causes with their evidence'
            cand preflight 'Before `docker compose up`: read the compose project on disk (compose files, `.env`, Dockerfiles, entrypoint scripts, gunicorn''s config, the Python each service runs) and report what will fail at startup, with file:line, under the ids `check` uses. `--fix` applies the fixes that need no running stack (line ends, execute bit, compose edits)'
            cand wait 'Wait until every service is up (healthy; running without a health check; a one-shot exited 0). As soon as one exits, keeps restarting or turns unhealthy — or at the timeout — print the diagnosis and exit 1'
            cand snapshot 'Capture the stack for later: a .tar.gz holding its snapshot (inspect data, health logs, log tails, compose model), the probes'' results and the diagnosis, every secret redacted. `check --from FILE` diagnoses it again, anywhere, without Docker'
            cand fix 'Diagnose, then apply the fixes: each plan is shown, backed up, asked for (unless --yes), applied, verified, and rolled back when it did not work'
            cand backups 'List the backups fixes made for this project'
            cand restore 'Put a backup''s originals back'
            cand rules 'The rules the doctor knows'
            cand explain 'Explain one failure class: what it is, its symptoms, its fix; without an id, list the classes by catalogue section'
            cand completions 'Print a shell completion script'
            cand man 'Print the man page (roff), e.g. `analylit-doctor man > analylit-doctor.1`'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'analylit-doctor;check'= {
            cand -p 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s directory)'
            cand --project-name 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s directory)'
            cand -f 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)'
            cand --file 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)'
            cand --stack 'A Swarm stack (`docker stack deploy … NAME`) instead of a compose project: its services, their tasks and the tasks'' containers. Found without it too when the project name names a stack and no compose project has containers'
            cand --rules 'Extra rule files: every *.toml in DIR is added; the same id overrides the embedded rule'
            cand --connect-timeout 'Bound on reaching the engine, in seconds'
            cand --tail 'Log lines read per container (the most recent ones)'
            cand --format 'Report format: a table for people; html (one self-contained page: causal graph, timeline, findings) or markdown (the same for a job summary or a ticket, with a Mermaid graph) to share; json, junit, github (workflow commands) or sarif for machines. Nothing else is written to stdout for any but the table'
            cand -o 'Write the --format report to FILE; the table still goes to the terminal'
            cand --output 'Write the --format report to FILE; the table still goes to the terminal'
            cand --logs 'Diagnose from pasted output, without Docker: FILE, - (stdin), or SERVICE=FILE for a plain log of one service. Recognises and splits, in any mix: compose logs transcripts, compose up output (the daemon''s errors), docker inspect JSON (whole, State or Health), docker events, kernel OOM-killer lines, compose/docker ps tables, plain logs. Repeatable'
            cand --from 'Diagnose a bundle written by `analylit-doctor snapshot`, without Docker: the probes'' results are replayed from it'
            cand --redact 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked'
            cand -q 'No progress output'
            cand --quiet 'No progress output'
            cand --fix 'After the report, apply the safe fixes (with `check`; `fix` implies it)'
            cand --unsafe-fixes 'Also apply unsafe fixes (they change data or configuration)'
            cand -y 'Apply without asking'
            cand --yes 'Apply without asking'
            cand --dry-run 'Print every plan and change nothing'
            cand --no-rebuild 'Stop after patching the project''s source: no rebuild, no restart, no verification (for people who deploy another way)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'analylit-doctor;preflight'= {
            cand -p 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s `name:` or directory)'
            cand --project-name 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s `name:` or directory)'
            cand -f 'Compose file; repeat it for override files, later ones winning (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)'
            cand --file 'Compose file; repeat it for override files, later ones winning (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)'
            cand --profile 'Start the services of this profile too (repeatable; default: COMPOSE_PROFILES)'
            cand --base 'An image the project''s Dockerfiles start `FROM` that is built elsewhere from a Dockerfile of this checkout: `NAME=DOCKERFILE` (its folder is the context) or `NAME=DOCKERFILE,CONTEXT`. Repeatable. Images another service of the compose file builds are found without it'
            cand --rules 'Extra rule files: every *.toml in DIR is added; the same id overrides the embedded rule'
            cand --format 'Report format, as for `check`'
            cand -o 'Write the --format report to FILE; the table still goes to the terminal'
            cand --output 'Write the --format report to FILE; the table still goes to the terminal'
            cand --connect-timeout 'Bound on reaching the engine, in seconds'
            cand --redact 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked'
            cand --offline 'Do not ask the Docker engine: the health check''s program in the base image and the NVIDIA runtime are reported as not checked'
            cand -q 'No progress output'
            cand --quiet 'No progress output'
            cand --fix 'After the report, apply the safe fixes (with `check`; `fix` implies it)'
            cand --unsafe-fixes 'Also apply unsafe fixes (they change data or configuration)'
            cand -y 'Apply without asking'
            cand --yes 'Apply without asking'
            cand --dry-run 'Print every plan and change nothing'
            cand --no-rebuild 'Stop after patching the project''s source: no rebuild, no restart, no verification (for people who deploy another way)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'analylit-doctor;wait'= {
            cand --timeout 'Give up after this many seconds'
            cand -p 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s directory)'
            cand --project-name 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s directory)'
            cand -f 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)'
            cand --file 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)'
            cand --stack 'A Swarm stack (`docker stack deploy … NAME`) instead of a compose project: its services, their tasks and the tasks'' containers. Found without it too when the project name names a stack and no compose project has containers'
            cand --rules 'Extra rule files: every *.toml in DIR is added; the same id overrides the embedded rule'
            cand --connect-timeout 'Bound on reaching the engine, in seconds'
            cand --tail 'Log lines read per container (the most recent ones)'
            cand --format 'Report format: a table for people; html (one self-contained page: causal graph, timeline, findings) or markdown (the same for a job summary or a ticket, with a Mermaid graph) to share; json, junit, github (workflow commands) or sarif for machines. Nothing else is written to stdout for any but the table'
            cand -o 'Write the --format report to FILE; the table still goes to the terminal'
            cand --output 'Write the --format report to FILE; the table still goes to the terminal'
            cand --logs 'Diagnose from pasted output, without Docker: FILE, - (stdin), or SERVICE=FILE for a plain log of one service. Recognises and splits, in any mix: compose logs transcripts, compose up output (the daemon''s errors), docker inspect JSON (whole, State or Health), docker events, kernel OOM-killer lines, compose/docker ps tables, plain logs. Repeatable'
            cand --from 'Diagnose a bundle written by `analylit-doctor snapshot`, without Docker: the probes'' results are replayed from it'
            cand --redact 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked'
            cand -q 'No progress output'
            cand --quiet 'No progress output'
            cand --fix 'After the report, apply the safe fixes (with `check`; `fix` implies it)'
            cand --unsafe-fixes 'Also apply unsafe fixes (they change data or configuration)'
            cand -y 'Apply without asking'
            cand --yes 'Apply without asking'
            cand --dry-run 'Print every plan and change nothing'
            cand --no-rebuild 'Stop after patching the project''s source: no rebuild, no restart, no verification (for people who deploy another way)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'analylit-doctor;snapshot'= {
            cand -p 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s directory)'
            cand --project-name 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s directory)'
            cand -f 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)'
            cand --file 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)'
            cand --stack 'A Swarm stack (`docker stack deploy … NAME`) instead of a compose project: its services, their tasks and the tasks'' containers. Found without it too when the project name names a stack and no compose project has containers'
            cand --rules 'Extra rule files: every *.toml in DIR is added; the same id overrides the embedded rule'
            cand --connect-timeout 'Bound on reaching the engine, in seconds'
            cand --tail 'Log lines read per container (the most recent ones)'
            cand -o 'Where to write the bundle (.tar.gz)'
            cand --output 'Where to write the bundle (.tar.gz)'
            cand --redact 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked'
            cand -q 'No progress output'
            cand --quiet 'No progress output'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'analylit-doctor;fix'= {
            cand -p 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s directory)'
            cand --project-name 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s directory)'
            cand -f 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)'
            cand --file 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)'
            cand --stack 'A Swarm stack (`docker stack deploy … NAME`) instead of a compose project: its services, their tasks and the tasks'' containers. Found without it too when the project name names a stack and no compose project has containers'
            cand --rules 'Extra rule files: every *.toml in DIR is added; the same id overrides the embedded rule'
            cand --connect-timeout 'Bound on reaching the engine, in seconds'
            cand --tail 'Log lines read per container (the most recent ones)'
            cand --format 'Report format: a table for people; html (one self-contained page: causal graph, timeline, findings) or markdown (the same for a job summary or a ticket, with a Mermaid graph) to share; json, junit, github (workflow commands) or sarif for machines. Nothing else is written to stdout for any but the table'
            cand -o 'Write the --format report to FILE; the table still goes to the terminal'
            cand --output 'Write the --format report to FILE; the table still goes to the terminal'
            cand --logs 'Diagnose from pasted output, without Docker: FILE, - (stdin), or SERVICE=FILE for a plain log of one service. Recognises and splits, in any mix: compose logs transcripts, compose up output (the daemon''s errors), docker inspect JSON (whole, State or Health), docker events, kernel OOM-killer lines, compose/docker ps tables, plain logs. Repeatable'
            cand --from 'Diagnose a bundle written by `analylit-doctor snapshot`, without Docker: the probes'' results are replayed from it'
            cand --redact 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked'
            cand -q 'No progress output'
            cand --quiet 'No progress output'
            cand --fix 'After the report, apply the safe fixes (with `check`; `fix` implies it)'
            cand --unsafe-fixes 'Also apply unsafe fixes (they change data or configuration)'
            cand -y 'Apply without asking'
            cand --yes 'Apply without asking'
            cand --dry-run 'Print every plan and change nothing'
            cand --no-rebuild 'Stop after patching the project''s source: no rebuild, no restart, no verification (for people who deploy another way)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'analylit-doctor;backups'= {
            cand -p 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s directory)'
            cand --project-name 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s directory)'
            cand -f 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)'
            cand --file 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)'
            cand --stack 'A Swarm stack (`docker stack deploy … NAME`) instead of a compose project: its services, their tasks and the tasks'' containers. Found without it too when the project name names a stack and no compose project has containers'
            cand --rules 'Extra rule files: every *.toml in DIR is added; the same id overrides the embedded rule'
            cand --connect-timeout 'Bound on reaching the engine, in seconds'
            cand --tail 'Log lines read per container (the most recent ones)'
            cand --format 'Report format: a table for people; html (one self-contained page: causal graph, timeline, findings) or markdown (the same for a job summary or a ticket, with a Mermaid graph) to share; json, junit, github (workflow commands) or sarif for machines. Nothing else is written to stdout for any but the table'
            cand -o 'Write the --format report to FILE; the table still goes to the terminal'
            cand --output 'Write the --format report to FILE; the table still goes to the terminal'
            cand --logs 'Diagnose from pasted output, without Docker: FILE, - (stdin), or SERVICE=FILE for a plain log of one service. Recognises and splits, in any mix: compose logs transcripts, compose up output (the daemon''s errors), docker inspect JSON (whole, State or Health), docker events, kernel OOM-killer lines, compose/docker ps tables, plain logs. Repeatable'
            cand --from 'Diagnose a bundle written by `analylit-doctor snapshot`, without Docker: the probes'' results are replayed from it'
            cand --redact 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked'
            cand -q 'No progress output'
            cand --quiet 'No progress output'
            cand --fix 'After the report, apply the safe fixes (with `check`; `fix` implies it)'
            cand --unsafe-fixes 'Also apply unsafe fixes (they change data or configuration)'
            cand -y 'Apply without asking'
            cand --yes 'Apply without asking'
            cand --dry-run 'Print every plan and change nothing'
            cand --no-rebuild 'Stop after patching the project''s source: no rebuild, no restart, no verification (for people who deploy another way)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'analylit-doctor;restore'= {
            cand -p 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s directory)'
            cand --project-name 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s directory)'
            cand -f 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)'
            cand --file 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)'
            cand --stack 'A Swarm stack (`docker stack deploy … NAME`) instead of a compose project: its services, their tasks and the tasks'' containers. Found without it too when the project name names a stack and no compose project has containers'
            cand --rules 'Extra rule files: every *.toml in DIR is added; the same id overrides the embedded rule'
            cand --connect-timeout 'Bound on reaching the engine, in seconds'
            cand --tail 'Log lines read per container (the most recent ones)'
            cand --format 'Report format: a table for people; html (one self-contained page: causal graph, timeline, findings) or markdown (the same for a job summary or a ticket, with a Mermaid graph) to share; json, junit, github (workflow commands) or sarif for machines. Nothing else is written to stdout for any but the table'
            cand -o 'Write the --format report to FILE; the table still goes to the terminal'
            cand --output 'Write the --format report to FILE; the table still goes to the terminal'
            cand --logs 'Diagnose from pasted output, without Docker: FILE, - (stdin), or SERVICE=FILE for a plain log of one service. Recognises and splits, in any mix: compose logs transcripts, compose up output (the daemon''s errors), docker inspect JSON (whole, State or Health), docker events, kernel OOM-killer lines, compose/docker ps tables, plain logs. Repeatable'
            cand --from 'Diagnose a bundle written by `analylit-doctor snapshot`, without Docker: the probes'' results are replayed from it'
            cand --redact 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked'
            cand -q 'No progress output'
            cand --quiet 'No progress output'
            cand --fix 'After the report, apply the safe fixes (with `check`; `fix` implies it)'
            cand --unsafe-fixes 'Also apply unsafe fixes (they change data or configuration)'
            cand -y 'Apply without asking'
            cand --yes 'Apply without asking'
            cand --dry-run 'Print every plan and change nothing'
            cand --no-rebuild 'Stop after patching the project''s source: no rebuild, no restart, no verification (for people who deploy another way)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'analylit-doctor;rules'= {
            cand --redact 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked'
            cand -h 'Print help'
            cand --help 'Print help'
            cand list 'List the rules (embedded, plus those of --rules DIR)'
            cand test 'Run the `[[test]]` cases of the rule files and print a pass/fail table: the embedded rules (run from the project''s root, where their bundles are), or those of --rules DIR. Every rule needs a `match` and a `no-match` case. Exit 1 when a case fails'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'analylit-doctor;rules;list'= {
            cand --format 'format'
            cand --rules 'rules'
            cand --redact 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'analylit-doctor;rules;test'= {
            cand --format 'format'
            cand --rules 'Test the rule files of DIR (bundle paths are relative to each file''s folder)'
            cand --redact 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'analylit-doctor;rules;help'= {
            cand list 'List the rules (embedded, plus those of --rules DIR)'
            cand test 'Run the `[[test]]` cases of the rule files and print a pass/fail table: the embedded rules (run from the project''s root, where their bundles are), or those of --rules DIR. Every rule needs a `match` and a `no-match` case. Exit 1 when a case fails'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'analylit-doctor;rules;help;list'= {
        }
        &'analylit-doctor;rules;help;test'= {
        }
        &'analylit-doctor;rules;help;help'= {
        }
        &'analylit-doctor;explain'= {
            cand --rules 'rules'
            cand --redact 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'analylit-doctor;completions'= {
            cand --redact 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'analylit-doctor;man'= {
            cand --redact 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'analylit-doctor;help'= {
            cand check 'Inspect the running compose project and report root causes with their evidence'
            cand preflight 'Before `docker compose up`: read the compose project on disk (compose files, `.env`, Dockerfiles, entrypoint scripts, gunicorn''s config, the Python each service runs) and report what will fail at startup, with file:line, under the ids `check` uses. `--fix` applies the fixes that need no running stack (line ends, execute bit, compose edits)'
            cand wait 'Wait until every service is up (healthy; running without a health check; a one-shot exited 0). As soon as one exits, keeps restarting or turns unhealthy — or at the timeout — print the diagnosis and exit 1'
            cand snapshot 'Capture the stack for later: a .tar.gz holding its snapshot (inspect data, health logs, log tails, compose model), the probes'' results and the diagnosis, every secret redacted. `check --from FILE` diagnoses it again, anywhere, without Docker'
            cand fix 'Diagnose, then apply the fixes: each plan is shown, backed up, asked for (unless --yes), applied, verified, and rolled back when it did not work'
            cand backups 'List the backups fixes made for this project'
            cand restore 'Put a backup''s originals back'
            cand rules 'The rules the doctor knows'
            cand explain 'Explain one failure class: what it is, its symptoms, its fix; without an id, list the classes by catalogue section'
            cand completions 'Print a shell completion script'
            cand man 'Print the man page (roff), e.g. `analylit-doctor man > analylit-doctor.1`'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'analylit-doctor;help;check'= {
        }
        &'analylit-doctor;help;preflight'= {
        }
        &'analylit-doctor;help;wait'= {
        }
        &'analylit-doctor;help;snapshot'= {
        }
        &'analylit-doctor;help;fix'= {
        }
        &'analylit-doctor;help;backups'= {
        }
        &'analylit-doctor;help;restore'= {
        }
        &'analylit-doctor;help;rules'= {
            cand list 'List the rules (embedded, plus those of --rules DIR)'
            cand test 'Run the `[[test]]` cases of the rule files and print a pass/fail table: the embedded rules (run from the project''s root, where their bundles are), or those of --rules DIR. Every rule needs a `match` and a `no-match` case. Exit 1 when a case fails'
        }
        &'analylit-doctor;help;rules;list'= {
        }
        &'analylit-doctor;help;rules;test'= {
        }
        &'analylit-doctor;help;explain'= {
        }
        &'analylit-doctor;help;completions'= {
        }
        &'analylit-doctor;help;man'= {
        }
        &'analylit-doctor;help;help'= {
        }
    ]
    $completions[$command]
}
