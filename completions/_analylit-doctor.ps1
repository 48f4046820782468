
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'analylit-doctor' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'analylit-doctor'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'analylit-doctor' {
            [CompletionResult]::new('--redact', '--redact', [CompletionResultType]::ParameterName, 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Inspect the running compose project and report root causes with their evidence')
            [CompletionResult]::new('preflight', 'preflight', [CompletionResultType]::ParameterValue, 'Before `docker compose up`: read the compose project on disk (compose files, `.env`, Dockerfiles, entrypoint scripts, gunicorn''s config, the Python each service runs) and report what will fail at startup, with file:line, under the ids `check` uses. `--fix` applies the fixes that need no running stack (line ends, execute bit, compose edits)')
            [CompletionResult]::new('wait', 'wait', [CompletionResultType]::ParameterValue, 'Wait until every service is up (healthy; running without a health check; a one-shot exited 0). As soon as one exits, keeps restarting or turns unhealthy — or at the timeout — print the diagnosis and exit 1')
            [CompletionResult]::new('snapshot', 'snapshot', [CompletionResultType]::ParameterValue, 'Capture the stack for later: a .tar.gz holding its snapshot (inspect data, health logs, log tails, compose model), the probes'' results and the diagnosis, every secret redacted. `check --from FILE` diagnoses it again, anywhere, without Docker')
            [CompletionResult]::new('fix', 'fix', [CompletionResultType]::ParameterValue, 'Diagnose, then apply the fixes: each plan is shown, backed up, asked for (unless --yes), applied, verified, and rolled back when it did not work')
            [CompletionResult]::new('backups', 'backups', [CompletionResultType]::ParameterValue, 'List the backups fixes made for this project')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Put a backup''s originals back')
            [CompletionResult]::new('rules', 'rules', [CompletionResultType]::ParameterValue, 'The rules the doctor knows')
            [CompletionResult]::new('explain', 'explain', [CompletionResultType]::ParameterValue, 'Explain one failure class: what it is, its symptoms, its fix; without an id, list the classes by catalogue section')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff), e.g. `analylit-doctor man > analylit-doctor.1`')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'analylit-doctor;check' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s directory)')
            [CompletionResult]::new('--project-name', '--project-name', [CompletionResultType]::ParameterName, 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s directory)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)')
            [CompletionResult]::new('--stack', '--stack', [CompletionResultType]::ParameterName, 'A Swarm stack (`docker stack deploy … NAME`) instead of a compose project: its services, their tasks and the tasks'' containers. Found without it too when the project name names a stack and no compose project has containers')
            [CompletionResult]::new('--rules', '--rules', [CompletionResultType]::ParameterName, 'Extra rule files: every *.toml in DIR is added; the same id overrides the embedded rule')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Bound on reaching the engine, in seconds')
            [CompletionResult]::new('--tail', '--tail', [CompletionResultType]::ParameterName, 'Log lines read per container (the most recent ones)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format: a table for people; html (one self-contained page: causal graph, timeline, findings) or markdown (the same for a job summary or a ticket, with a Mermaid graph) to share; json, junit, github (workflow commands) or sarif for machines. Nothing else is written to stdout for any but the table')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the --format report to FILE; the table still goes to the terminal')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the --format report to FILE; the table still goes to the terminal')
            [CompletionResult]::new('--logs', '--logs', [CompletionResultType]::ParameterName, 'Diagnose from pasted output, without Docker: FILE, - (stdin), or SERVICE=FILE for a plain log of one service. Recognises and splits, in any mix: compose logs transcripts, compose up output (the daemon''s errors), docker inspect JSON (whole, State or Health), docker events, kernel OOM-killer lines, compose/docker ps tables, plain logs. Repeatable')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Diagnose a bundle written by `analylit-doctor snapshot`, without Docker: the probes'' results are replayed from it')
            [CompletionResult]::new('--redact', '--redact', [CompletionResultType]::ParameterName, 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress output')
            [CompletionResult]::new('--fix', '--fix', [CompletionResultType]::ParameterName, 'After the report, apply the safe fixes (with `check`; `fix` implies it)')
            [CompletionResult]::new('--unsafe-fixes', '--unsafe-fixes', [CompletionResultType]::ParameterName, 'Also apply unsafe fixes (they change data or configuration)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Apply without asking')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Apply without asking')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print every plan and change nothing')
            [CompletionResult]::new('--no-rebuild', '--no-rebuild', [CompletionResultType]::ParameterName, 'Stop after patching the project''s source: no rebuild, no restart, no verification (for people who deploy another way)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'analylit-doctor;preflight' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s `name:` or directory)')
            [CompletionResult]::new('--project-name', '--project-name', [CompletionResultType]::ParameterName, 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s `name:` or directory)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Compose file; repeat it for override files, later ones winning (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Compose file; repeat it for override files, later ones winning (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Start the services of this profile too (repeatable; default: COMPOSE_PROFILES)')
            [CompletionResult]::new('--base', '--base', [CompletionResultType]::ParameterName, 'An image the project''s Dockerfiles start `FROM` that is built elsewhere from a Dockerfile of this checkout: `NAME=DOCKERFILE` (its folder is the context) or `NAME=DOCKERFILE,CONTEXT`. Repeatable. Images another service of the compose file builds are found without it')
            [CompletionResult]::new('--rules', '--rules', [CompletionResultType]::ParameterName, 'Extra rule files: every *.toml in DIR is added; the same id overrides the embedded rule')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format, as for `check`')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the --format report to FILE; the table still goes to the terminal')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the --format report to FILE; the table still goes to the terminal')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Bound on reaching the engine, in seconds')
            [CompletionResult]::new('--redact', '--redact', [CompletionResultType]::ParameterName, 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Do not ask the Docker engine: the health check''s program in the base image and the NVIDIA runtime are reported as not checked')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress output')
            [CompletionResult]::new('--fix', '--fix', [CompletionResultType]::ParameterName, 'After the report, apply the safe fixes (with `check`; `fix` implies it)')
            [CompletionResult]::new('--unsafe-fixes', '--unsafe-fixes', [CompletionResultType]::ParameterName, 'Also apply unsafe fixes (they change data or configuration)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Apply without asking')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Apply without asking')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print every plan and change nothing')
            [CompletionResult]::new('--no-rebuild', '--no-rebuild', [CompletionResultType]::ParameterName, 'Stop after patching the project''s source: no rebuild, no restart, no verification (for people who deploy another way)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'analylit-doctor;wait' {
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up after this many seconds')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s directory)')
            [CompletionResult]::new('--project-name', '--project-name', [CompletionResultType]::ParameterName, 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s directory)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)')
            [CompletionResult]::new('--stack', '--stack', [CompletionResultType]::ParameterName, 'A Swarm stack (`docker stack deploy … NAME`) instead of a compose project: its services, their tasks and the tasks'' containers. Found without it too when the project name names a stack and no compose project has containers')
            [CompletionResult]::new('--rules', '--rules', [CompletionResultType]::ParameterName, 'Extra rule files: every *.toml in DIR is added; the same id overrides the embedded rule')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Bound on reaching the engine, in seconds')
            [CompletionResult]::new('--tail', '--tail', [CompletionResultType]::ParameterName, 'Log lines read per container (the most recent ones)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format: a table for people; html (one self-contained page: causal graph, timeline, findings) or markdown (the same for a job summary or a ticket, with a Mermaid graph) to share; json, junit, github (workflow commands) or sarif for machines. Nothing else is written to stdout for any but the table')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the --format report to FILE; the table still goes to the terminal')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the --format report to FILE; the table still goes to the terminal')
            [CompletionResult]::new('--logs', '--logs', [CompletionResultType]::ParameterName, 'Diagnose from pasted output, without Docker: FILE, - (stdin), or SERVICE=FILE for a plain log of one service. Recognises and splits, in any mix: compose logs transcripts, compose up output (the daemon''s errors), docker inspect JSON (whole, State or Health), docker events, kernel OOM-killer lines, compose/docker ps tables, plain logs. Repeatable')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Diagnose a bundle written by `analylit-doctor snapshot`, without Docker: the probes'' results are replayed from it')
            [CompletionResult]::new('--redact', '--redact', [CompletionResultType]::ParameterName, 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress output')
            [CompletionResult]::new('--fix', '--fix', [CompletionResultType]::ParameterName, 'After the report, apply the safe fixes (with `check`; `fix` implies it)')
            [CompletionResult]::new('--unsafe-fixes', '--unsafe-fixes', [CompletionResultType]::ParameterName, 'Also apply unsafe fixes (they change data or configuration)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Apply without asking')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Apply without asking')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print every plan and change nothing')
            [CompletionResult]::new('--no-rebuild', '--no-rebuild', [CompletionResultType]::ParameterName, 'Stop after patching the project''s source: no rebuild, no restart, no verification (for people who deploy another way)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'analylit-doctor;snapshot' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s directory)')
            [CompletionResult]::new('--project-name', '--project-name', [CompletionResultType]::ParameterName, 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s directory)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)')
            [CompletionResult]::new('--stack', '--stack', [CompletionResultType]::ParameterName, 'A Swarm stack (`docker stack deploy … NAME`) instead of a compose project: its services, their tasks and the tasks'' containers. Found without it too when the project name names a stack and no compose project has containers')
            [CompletionResult]::new('--rules', '--rules', [CompletionResultType]::ParameterName, 'Extra rule files: every *.toml in DIR is added; the same id overrides the embedded rule')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Bound on reaching the engine, in seconds')
            [CompletionResult]::new('--tail', '--tail', [CompletionResultType]::ParameterName, 'Log lines read per container (the most recent ones)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Where to write the bundle (.tar.gz)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Where to write the bundle (.tar.gz)')
            [CompletionResult]::new('--redact', '--redact', [CompletionResultType]::ParameterName, 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'analylit-doctor;fix' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s directory)')
            [CompletionResult]::new('--project-name', '--project-name', [CompletionResultType]::ParameterName, 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s directory)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)')
            [CompletionResult]::new('--stack', '--stack', [CompletionResultType]::ParameterName, 'A Swarm stack (`docker stack deploy … NAME`) instead of a compose project: its services, their tasks and the tasks'' containers. Found without it too when the project name names a stack and no compose project has containers')
            [CompletionResult]::new('--rules', '--rules', [CompletionResultType]::ParameterName, 'Extra rule files: every *.toml in DIR is added; the same id overrides the embedded rule')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Bound on reaching the engine, in seconds')
            [CompletionResult]::new('--tail', '--tail', [CompletionResultType]::ParameterName, 'Log lines read per container (the most recent ones)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format: a table for people; html (one self-contained page: causal graph, timeline, findings) or markdown (the same for a job summary or a ticket, with a Mermaid graph) to share; json, junit, github (workflow commands) or sarif for machines. Nothing else is written to stdout for any but the table')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the --format report to FILE; the table still goes to the terminal')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the --format report to FILE; the table still goes to the terminal')
            [CompletionResult]::new('--logs', '--logs', [CompletionResultType]::ParameterName, 'Diagnose from pasted output, without Docker: FILE, - (stdin), or SERVICE=FILE for a plain log of one service. Recognises and splits, in any mix: compose logs transcripts, compose up output (the daemon''s errors), docker inspect JSON (whole, State or Health), docker events, kernel OOM-killer lines, compose/docker ps tables, plain logs. Repeatable')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Diagnose a bundle written by `analylit-doctor snapshot`, without Docker: the probes'' results are replayed from it')
            [CompletionResult]::new('--redact', '--redact', [CompletionResultType]::ParameterName, 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress output')
            [CompletionResult]::new('--fix', '--fix', [CompletionResultType]::ParameterName, 'After the report, apply the safe fixes (with `check`; `fix` implies it)')
            [CompletionResult]::new('--unsafe-fixes', '--unsafe-fixes', [CompletionResultType]::ParameterName, 'Also apply unsafe fixes (they change data or configuration)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Apply without asking')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Apply without asking')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print every plan and change nothing')
            [CompletionResult]::new('--no-rebuild', '--no-rebuild', [CompletionResultType]::ParameterName, 'Stop after patching the project''s source: no rebuild, no restart, no verification (for people who deploy another way)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'analylit-doctor;backups' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s directory)')
            [CompletionResult]::new('--project-name', '--project-name', [CompletionResultType]::ParameterName, 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s directory)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)')
            [CompletionResult]::new('--stack', '--stack', [CompletionResultType]::ParameterName, 'A Swarm stack (`docker stack deploy … NAME`) instead of a compose project: its services, their tasks and the tasks'' containers. Found without it too when the project name names a stack and no compose project has containers')
            [CompletionResult]::new('--rules', '--rules', [CompletionResultType]::ParameterName, 'Extra rule files: every *.toml in DIR is added; the same id overrides the embedded rule')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Bound on reaching the engine, in seconds')
            [CompletionResult]::new('--tail', '--tail', [CompletionResultType]::ParameterName, 'Log lines read per container (the most recent ones)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format: a table for people; html (one self-contained page: causal graph, timeline, findings) or markdown (the same for a job summary or a ticket, with a Mermaid graph) to share; json, junit, github (workflow commands) or sarif for machines. Nothing else is written to stdout for any but the table')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the --format report to FILE; the table still goes to the terminal')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the --format report to FILE; the table still goes to the terminal')
            [CompletionResult]::new('--logs', '--logs', [CompletionResultType]::ParameterName, 'Diagnose from pasted output, without Docker: FILE, - (stdin), or SERVICE=FILE for a plain log of one service. Recognises and splits, in any mix: compose logs transcripts, compose up output (the daemon''s errors), docker inspect JSON (whole, State or Health), docker events, kernel OOM-killer lines, compose/docker ps tables, plain logs. Repeatable')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Diagnose a bundle written by `analylit-doctor snapshot`, without Docker: the probes'' results are replayed from it')
            [CompletionResult]::new('--redact', '--redact', [CompletionResultType]::ParameterName, 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress output')
            [CompletionResult]::new('--fix', '--fix', [CompletionResultType]::ParameterName, 'After the report, apply the safe fixes (with `check`; `fix` implies it)')
            [CompletionResult]::new('--unsafe-fixes', '--unsafe-fixes', [CompletionResultType]::ParameterName, 'Also apply unsafe fixes (they change data or configuration)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Apply without asking')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Apply without asking')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print every plan and change nothing')
            [CompletionResult]::new('--no-rebuild', '--no-rebuild', [CompletionResultType]::ParameterName, 'Stop after patching the project''s source: no rebuild, no restart, no verification (for people who deploy another way)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'analylit-doctor;restore' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s directory)')
            [CompletionResult]::new('--project-name', '--project-name', [CompletionResultType]::ParameterName, 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file''s directory)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)')
            [CompletionResult]::new('--stack', '--stack', [CompletionResultType]::ParameterName, 'A Swarm stack (`docker stack deploy … NAME`) instead of a compose project: its services, their tasks and the tasks'' containers. Found without it too when the project name names a stack and no compose project has containers')
            [CompletionResult]::new('--rules', '--rules', [CompletionResultType]::ParameterName, 'Extra rule files: every *.toml in DIR is added; the same id overrides the embedded rule')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Bound on reaching the engine, in seconds')
            [CompletionResult]::new('--tail', '--tail', [CompletionResultType]::ParameterName, 'Log lines read per container (the most recent ones)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Report format: a table for people; html (one self-contained page: causal graph, timeline, findings) or markdown (the same for a job summary or a ticket, with a Mermaid graph) to share; json, junit, github (workflow commands) or sarif for machines. Nothing else is written to stdout for any but the table')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the --format report to FILE; the table still goes to the terminal')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the --format report to FILE; the table still goes to the terminal')
            [CompletionResult]::new('--logs', '--logs', [CompletionResultType]::ParameterName, 'Diagnose from pasted output, without Docker: FILE, - (stdin), or SERVICE=FILE for a plain log of one service. Recognises and splits, in any mix: compose logs transcripts, compose up output (the daemon''s errors), docker inspect JSON (whole, State or Health), docker events, kernel OOM-killer lines, compose/docker ps tables, plain logs. Repeatable')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Diagnose a bundle written by `analylit-doctor snapshot`, without Docker: the probes'' results are replayed from it')
            [CompletionResult]::new('--redact', '--redact', [CompletionResultType]::ParameterName, 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress output')
            [CompletionResult]::new('--fix', '--fix', [CompletionResultType]::ParameterName, 'After the report, apply the safe fixes (with `check`; `fix` implies it)')
            [CompletionResult]::new('--unsafe-fixes', '--unsafe-fixes', [CompletionResultType]::ParameterName, 'Also apply unsafe fixes (they change data or configuration)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Apply without asking')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Apply without asking')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print every plan and change nothing')
            [CompletionResult]::new('--no-rebuild', '--no-rebuild', [CompletionResultType]::ParameterName, 'Stop after patching the project''s source: no rebuild, no restart, no verification (for people who deploy another way)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'analylit-doctor;rules' {
            [CompletionResult]::new('--redact', '--redact', [CompletionResultType]::ParameterName, 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the rules (embedded, plus those of --rules DIR)')
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'Run the `[[test]]` cases of the rule files and print a pass/fail table: the embedded rules (run from the project''s root, where their bundles are), or those of --rules DIR. Every rule needs a `match` and a `no-match` case. Exit 1 when a case fails')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'analylit-doctor;rules;list' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'format')
            [CompletionResult]::new('--rules', '--rules', [CompletionResultType]::ParameterName, 'rules')
            [CompletionResult]::new('--redact', '--redact', [CompletionResultType]::ParameterName, 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'analylit-doctor;rules;test' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'format')
            [CompletionResult]::new('--rules', '--rules', [CompletionResultType]::ParameterName, 'Test the rule files of DIR (bundle paths are relative to each file''s folder)')
            [CompletionResult]::new('--redact', '--redact', [CompletionResultType]::ParameterName, 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'analylit-doctor;rules;help' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the rules (embedded, plus those of --rules DIR)')
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'Run the `[[test]]` cases of the rule files and print a pass/fail table: the embedded rules (run from the project''s root, where their bundles are), or those of --rules DIR. Every rule needs a `match` and a `no-match` case. Exit 1 when a case fails')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'analylit-doctor;rules;help;list' {
            break
        }
        'analylit-doctor;rules;help;test' {
            break
        }
        'analylit-doctor;rules;help;help' {
            break
        }
        'analylit-doctor;explain' {
            [CompletionResult]::new('--rules', '--rules', [CompletionResultType]::ParameterName, 'rules')
            [CompletionResult]::new('--redact', '--redact', [CompletionResultType]::ParameterName, 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'analylit-doctor;completions' {
            [CompletionResult]::new('--redact', '--redact', [CompletionResultType]::ParameterName, 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'analylit-doctor;man' {
            [CompletionResult]::new('--redact', '--redact', [CompletionResultType]::ParameterName, 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'analylit-doctor;help' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Inspect the running compose project and report root causes with their evidence')
            [CompletionResult]::new('preflight', 'preflight', [CompletionResultType]::ParameterValue, 'Before `docker compose up`: read the compose project on disk (compose files, `.env`, Dockerfiles, entrypoint scripts, gunicorn''s config, the Python each service runs) and report what will fail at startup, with file:line, under the ids `check` uses. `--fix` applies the fixes that need no running stack (line ends, execute bit, compose edits)')
            [CompletionResult]::new('wait', 'wait', [CompletionResultType]::ParameterValue, 'Wait until every service is up (healthy; running without a health check; a one-shot exited 0). As soon as one exits, keeps restarting or turns unhealthy — or at the timeout — print the diagnosis and exit 1')
            [CompletionResult]::new('snapshot', 'snapshot', [CompletionResultType]::ParameterValue, 'Capture the stack for later: a .tar.gz holding its snapshot (inspect data, health logs, log tails, compose model), the probes'' results and the diagnosis, every secret redacted. `check --from FILE` diagnoses it again, anywhere, without Docker')
            [CompletionResult]::new('fix', 'fix', [CompletionResultType]::ParameterValue, 'Diagnose, then apply the fixes: each plan is shown, backed up, asked for (unless --yes), applied, verified, and rolled back when it did not work')
            [CompletionResult]::new('backups', 'backups', [CompletionResultType]::ParameterValue, 'List the backups fixes made for this project')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Put a backup''s originals back')
            [CompletionResult]::new('rules', 'rules', [CompletionResultType]::ParameterValue, 'The rules the doctor knows')
            [CompletionResult]::new('explain', 'explain', [CompletionResultType]::ParameterValue, 'Explain one failure class: what it is, its symptoms, its fix; without an id, list the classes by catalogue section')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff), e.g. `analylit-doctor man > analylit-doctor.1`')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'analylit-doctor;help;check' {
            break
        }
        'analylit-doctor;help;preflight' {
            break
        }
        'analylit-doctor;help;wait' {
            break
        }
        'analylit-doctor;help;snapshot' {
            break
        }
        'analylit-doctor;help;fix' {
            break
        }
        'analylit-doctor;help;backups' {
            break
        }
        'analylit-doctor;help;restore' {
            break
        }
        'analylit-doctor;help;rules' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the rules (embedded, plus those of --rules DIR)')
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'Run the `[[test]]` cases of the rule files and print a pass/fail table: the embedded rules (run from the project''s root, where their bundles are), or those of --rules DIR. Every rule needs a `match` and a `no-match` case. Exit 1 when a case fails')
            break
        }
        'analylit-doctor;help;rules;list' {
            break
        }
        'analylit-doctor;help;rules;test' {
            break
        }
        'analylit-doctor;help;explain' {
            break
        }
        'analylit-doctor;help;completions' {
            break
        }
        'analylit-doctor;help;man' {
            break
        }
        'analylit-doctor;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
