# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_analylit_doctor_global_optspecs
    string join \n redact= h/help V/version
end

function __fish_analylit_doctor_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_analylit_doctor_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_analylit_doctor_using_subcommand
    set -l cmd (__fish_analylit_doctor_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c analylit-doctor -n "__fish_analylit_doctor_needs_command" -l redact -d 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_needs_command" -s h -l help -d 'Print help'
complete -c analylit-doctor -n "__fish_analylit_doctor_needs_command" -s V -l version -d 'Print version'
complete -c analylit-doctor -n "__fish_analylit_doctor_needs_command" -f -a "check" -d 'Inspect the running compose project and report root causes with their evidence'
complete -c analylit-doctor -n "__fish_analylit_doctor_needs_command" -f -a "preflight" -d 'Before `docker compose up`: read the compose project on disk (compose files, `.env`, Dockerfiles, entrypoint scripts, gunicorn\'s config, the Python each service runs) and report what will fail at startup, with file:line, under the ids `check` uses. `--fix` applies the fixes that need no running stack (line ends, execute bit, compose edits)'
complete -c analylit-doctor -n "__fish_analylit_doctor_needs_command" -f -a "wait" -d 'Wait until every service is up (healthy; running without a health check; a one-shot exited 0). As soon as one exits, keeps restarting or turns unhealthy — or at the timeout — print the diagnosis and exit 1'
complete -c analylit-doctor -n "__fish_analylit_doctor_needs_command" -f -a "snapshot" -d 'Capture the stack for later: a .tar.gz holding its snapshot (inspect data, health logs, log tails, compose model), the probes\' results and the diagnosis, every secret redacted. `check --from FILE` diagnoses it again, anywhere, without Docker'
complete -c analylit-doctor -n "__fish_analylit_doctor_needs_command" -f -a "fix" -d 'Diagnose, then apply the fixes: each plan is shown, backed up, asked for (unless --yes), applied, verified, and rolled back when it did not work'
complete -c analylit-doctor -n "__fish_analylit_doctor_needs_command" -f -a "backups" -d 'List the backups fixes made for this project'
complete -c analylit-doctor -n "__fish_analylit_doctor_needs_command" -f -a "restore" -d 'Put a backup\'s originals back'
complete -c analylit-doctor -n "__fish_analylit_doctor_needs_command" -f -a "rules" -d 'The rules the doctor knows'
complete -c analylit-doctor -n "__fish_analylit_doctor_needs_command" -f -a "explain" -d 'Explain one failure class: what it is, its symptoms, its fix; without an id, list the classes by catalogue section'
complete -c analylit-doctor -n "__fish_analylit_doctor_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c analylit-doctor -n "__fish_analylit_doctor_needs_command" -f -a "man" -d 'Print the man page (roff), e.g. `analylit-doctor man > analylit-doctor.1`'
complete -c analylit-doctor -n "__fish_analylit_doctor_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand check" -s p -l project-name -d 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file\'s directory)' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand check" -s f -l file -d 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)' -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand check" -l stack -d 'A Swarm stack (`docker stack deploy … NAME`) instead of a compose project: its services, their tasks and the tasks\' containers. Found without it too when the project name names a stack and no compose project has containers' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand check" -l rules -d 'Extra rule files: every *.toml in DIR is added; the same id overrides the embedded rule' -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand check" -l connect-timeout -d 'Bound on reaching the engine, in seconds' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand check" -l tail -d 'Log lines read per container (the most recent ones)' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand check" -l format -d 'Report format: a table for people; html (one self-contained page: causal graph, timeline, findings) or markdown (the same for a job summary or a ticket, with a Mermaid graph) to share; json, junit, github (workflow commands) or sarif for machines. Nothing else is written to stdout for any but the table' -r -f -a "table\t''
json\t''
junit\t'JUnit XML: one test case per rule checked on each service'
github\t'GitHub Actions workflow commands (`::error ...`), one per problem'
sarif\t'SARIF 2.1.0'
html\t'One self-contained HTML page: the causal graph, a timeline per service, every finding with its evidence, probes and fix'
markdown\t'The HTML report\'s content as Markdown, with a Mermaid graph (a GitHub job summary, a PR comment, a ticket)'"
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand check" -s o -l output -d 'Write the --format report to FILE; the table still goes to the terminal' -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand check" -l logs -d 'Diagnose from pasted output, without Docker: FILE, - (stdin), or SERVICE=FILE for a plain log of one service. Recognises and splits, in any mix: compose logs transcripts, compose up output (the daemon\'s errors), docker inspect JSON (whole, State or Health), docker events, kernel OOM-killer lines, compose/docker ps tables, plain logs. Repeatable' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand check" -l from -d 'Diagnose a bundle written by `analylit-doctor snapshot`, without Docker: the probes\' results are replayed from it' -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand check" -l redact -d 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand check" -s q -l quiet -d 'No progress output'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand check" -l fix -d 'After the report, apply the safe fixes (with `check`; `fix` implies it)'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand check" -l unsafe-fixes -d 'Also apply unsafe fixes (they change data or configuration)'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand check" -s y -l yes -d 'Apply without asking'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand check" -l dry-run -d 'Print every plan and change nothing'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand check" -l no-rebuild -d 'Stop after patching the project\'s source: no rebuild, no restart, no verification (for people who deploy another way)'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand preflight" -s p -l project-name -d 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file\'s `name:` or directory)' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand preflight" -s f -l file -d 'Compose file; repeat it for override files, later ones winning (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)' -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand preflight" -l profile -d 'Start the services of this profile too (repeatable; default: COMPOSE_PROFILES)' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand preflight" -l base -d 'An image the project\'s Dockerfiles start `FROM` that is built elsewhere from a Dockerfile of this checkout: `NAME=DOCKERFILE` (its folder is the context) or `NAME=DOCKERFILE,CONTEXT`. Repeatable. Images another service of the compose file builds are found without it' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand preflight" -l rules -d 'Extra rule files: every *.toml in DIR is added; the same id overrides the embedded rule' -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand preflight" -l format -d 'Report format, as for `check`' -r -f -a "table\t''
json\t''
junit\t'JUnit XML: one test case per rule checked on each service'
github\t'GitHub Actions workflow commands (`::error ...`), one per problem'
sarif\t'SARIF 2.1.0'
html\t'One self-contained HTML page: the causal graph, a timeline per service, every finding with its evidence, probes and fix'
markdown\t'The HTML report\'s content as Markdown, with a Mermaid graph (a GitHub job summary, a PR comment, a ticket)'"
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand preflight" -s o -l output -d 'Write the --format report to FILE; the table still goes to the terminal' -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand preflight" -l connect-timeout -d 'Bound on reaching the engine, in seconds' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand preflight" -l redact -d 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand preflight" -l offline -d 'Do not ask the Docker engine: the health check\'s program in the base image and the NVIDIA runtime are reported as not checked'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand preflight" -s q -l quiet -d 'No progress output'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand preflight" -l fix -d 'After the report, apply the safe fixes (with `check`; `fix` implies it)'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand preflight" -l unsafe-fixes -d 'Also apply unsafe fixes (they change data or configuration)'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand preflight" -s y -l yes -d 'Apply without asking'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand preflight" -l dry-run -d 'Print every plan and change nothing'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand preflight" -l no-rebuild -d 'Stop after patching the project\'s source: no rebuild, no restart, no verification (for people who deploy another way)'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand preflight" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand wait" -l timeout -d 'Give up after this many seconds' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand wait" -s p -l project-name -d 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file\'s directory)' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand wait" -s f -l file -d 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)' -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand wait" -l stack -d 'A Swarm stack (`docker stack deploy … NAME`) instead of a compose project: its services, their tasks and the tasks\' containers. Found without it too when the project name names a stack and no compose project has containers' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand wait" -l rules -d 'Extra rule files: every *.toml in DIR is added; the same id overrides the embedded rule' -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand wait" -l connect-timeout -d 'Bound on reaching the engine, in seconds' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand wait" -l tail -d 'Log lines read per container (the most recent ones)' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand wait" -l format -d 'Report format: a table for people; html (one self-contained page: causal graph, timeline, findings) or markdown (the same for a job summary or a ticket, with a Mermaid graph) to share; json, junit, github (workflow commands) or sarif for machines. Nothing else is written to stdout for any but the table' -r -f -a "table\t''
json\t''
junit\t'JUnit XML: one test case per rule checked on each service'
github\t'GitHub Actions workflow commands (`::error ...`), one per problem'
sarif\t'SARIF 2.1.0'
html\t'One self-contained HTML page: the causal graph, a timeline per service, every finding with its evidence, probes and fix'
markdown\t'The HTML report\'s content as Markdown, with a Mermaid graph (a GitHub job summary, a PR comment, a ticket)'"
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand wait" -s o -l output -d 'Write the --format report to FILE; the table still goes to the terminal' -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand wait" -l logs -d 'Diagnose from pasted output, without Docker: FILE, - (stdin), or SERVICE=FILE for a plain log of one service. Recognises and splits, in any mix: compose logs transcripts, compose up output (the daemon\'s errors), docker inspect JSON (whole, State or Health), docker events, kernel OOM-killer lines, compose/docker ps tables, plain logs. Repeatable' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand wait" -l from -d 'Diagnose a bundle written by `analylit-doctor snapshot`, without Docker: the probes\' results are replayed from it' -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand wait" -l redact -d 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand wait" -s q -l quiet -d 'No progress output'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand wait" -l fix -d 'After the report, apply the safe fixes (with `check`; `fix` implies it)'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand wait" -l unsafe-fixes -d 'Also apply unsafe fixes (they change data or configuration)'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand wait" -s y -l yes -d 'Apply without asking'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand wait" -l dry-run -d 'Print every plan and change nothing'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand wait" -l no-rebuild -d 'Stop after patching the project\'s source: no rebuild, no restart, no verification (for people who deploy another way)'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand wait" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand snapshot" -s p -l project-name -d 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file\'s directory)' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand snapshot" -s f -l file -d 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)' -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand snapshot" -l stack -d 'A Swarm stack (`docker stack deploy … NAME`) instead of a compose project: its services, their tasks and the tasks\' containers. Found without it too when the project name names a stack and no compose project has containers' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand snapshot" -l rules -d 'Extra rule files: every *.toml in DIR is added; the same id overrides the embedded rule' -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand snapshot" -l connect-timeout -d 'Bound on reaching the engine, in seconds' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand snapshot" -l tail -d 'Log lines read per container (the most recent ones)' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand snapshot" -s o -l output -d 'Where to write the bundle (.tar.gz)' -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand snapshot" -l redact -d 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand snapshot" -s q -l quiet -d 'No progress output'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand snapshot" -s h -l help -d 'Print help'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand fix" -s p -l project-name -d 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file\'s directory)' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand fix" -s f -l file -d 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)' -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand fix" -l stack -d 'A Swarm stack (`docker stack deploy … NAME`) instead of a compose project: its services, their tasks and the tasks\' containers. Found without it too when the project name names a stack and no compose project has containers' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand fix" -l rules -d 'Extra rule files: every *.toml in DIR is added; the same id overrides the embedded rule' -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand fix" -l connect-timeout -d 'Bound on reaching the engine, in seconds' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand fix" -l tail -d 'Log lines read per container (the most recent ones)' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand fix" -l format -d 'Report format: a table for people; html (one self-contained page: causal graph, timeline, findings) or markdown (the same for a job summary or a ticket, with a Mermaid graph) to share; json, junit, github (workflow commands) or sarif for machines. Nothing else is written to stdout for any but the table' -r -f -a "table\t''
json\t''
junit\t'JUnit XML: one test case per rule checked on each service'
github\t'GitHub Actions workflow commands (`::error ...`), one per problem'
sarif\t'SARIF 2.1.0'
html\t'One self-contained HTML page: the causal graph, a timeline per service, every finding with its evidence, probes and fix'
markdown\t'The HTML report\'s content as Markdown, with a Mermaid graph (a GitHub job summary, a PR comment, a ticket)'"
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand fix" -s o -l output -d 'Write the --format report to FILE; the table still goes to the terminal' -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand fix" -l logs -d 'Diagnose from pasted output, without Docker: FILE, - (stdin), or SERVICE=FILE for a plain log of one service. Recognises and splits, in any mix: compose logs transcripts, compose up output (the daemon\'s errors), docker inspect JSON (whole, State or Health), docker events, kernel OOM-killer lines, compose/docker ps tables, plain logs. Repeatable' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand fix" -l from -d 'Diagnose a bundle written by `analylit-doctor snapshot`, without Docker: the probes\' results are replayed from it' -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand fix" -l redact -d 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand fix" -s q -l quiet -d 'No progress output'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand fix" -l fix -d 'After the report, apply the safe fixes (with `check`; `fix` implies it)'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand fix" -l unsafe-fixes -d 'Also apply unsafe fixes (they change data or configuration)'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand fix" -s y -l yes -d 'Apply without asking'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand fix" -l dry-run -d 'Print every plan and change nothing'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand fix" -l no-rebuild -d 'Stop after patching the project\'s source: no rebuild, no restart, no verification (for people who deploy another way)'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand fix" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand backups" -s p -l project-name -d 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file\'s directory)' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand backups" -s f -l file -d 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)' -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand backups" -l stack -d 'A Swarm stack (`docker stack deploy … NAME`) instead of a compose project: its services, their tasks and the tasks\' containers. Found without it too when the project name names a stack and no compose project has containers' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand backups" -l rules -d 'Extra rule files: every *.toml in DIR is added; the same id overrides the embedded rule' -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand backups" -l connect-timeout -d 'Bound on reaching the engine, in seconds' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand backups" -l tail -d 'Log lines read per container (the most recent ones)' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand backups" -l format -d 'Report format: a table for people; html (one self-contained page: causal graph, timeline, findings) or markdown (the same for a job summary or a ticket, with a Mermaid graph) to share; json, junit, github (workflow commands) or sarif for machines. Nothing else is written to stdout for any but the table' -r -f -a "table\t''
json\t''
junit\t'JUnit XML: one test case per rule checked on each service'
github\t'GitHub Actions workflow commands (`::error ...`), one per problem'
sarif\t'SARIF 2.1.0'
html\t'One self-contained HTML page: the causal graph, a timeline per service, every finding with its evidence, probes and fix'
markdown\t'The HTML report\'s content as Markdown, with a Mermaid graph (a GitHub job summary, a PR comment, a ticket)'"
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand backups" -s o -l output -d 'Write the --format report to FILE; the table still goes to the terminal' -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand backups" -l logs -d 'Diagnose from pasted output, without Docker: FILE, - (stdin), or SERVICE=FILE for a plain log of one service. Recognises and splits, in any mix: compose logs transcripts, compose up output (the daemon\'s errors), docker inspect JSON (whole, State or Health), docker events, kernel OOM-killer lines, compose/docker ps tables, plain logs. Repeatable' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand backups" -l from -d 'Diagnose a bundle written by `analylit-doctor snapshot`, without Docker: the probes\' results are replayed from it' -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand backups" -l redact -d 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand backups" -s q -l quiet -d 'No progress output'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand backups" -l fix -d 'After the report, apply the safe fixes (with `check`; `fix` implies it)'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand backups" -l unsafe-fixes -d 'Also apply unsafe fixes (they change data or configuration)'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand backups" -s y -l yes -d 'Apply without asking'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand backups" -l dry-run -d 'Print every plan and change nothing'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand backups" -l no-rebuild -d 'Stop after patching the project\'s source: no rebuild, no restart, no verification (for people who deploy another way)'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand backups" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand restore" -s p -l project-name -d 'Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file\'s directory)' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand restore" -s f -l file -d 'Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above)' -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand restore" -l stack -d 'A Swarm stack (`docker stack deploy … NAME`) instead of a compose project: its services, their tasks and the tasks\' containers. Found without it too when the project name names a stack and no compose project has containers' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand restore" -l rules -d 'Extra rule files: every *.toml in DIR is added; the same id overrides the embedded rule' -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand restore" -l connect-timeout -d 'Bound on reaching the engine, in seconds' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand restore" -l tail -d 'Log lines read per container (the most recent ones)' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand restore" -l format -d 'Report format: a table for people; html (one self-contained page: causal graph, timeline, findings) or markdown (the same for a job summary or a ticket, with a Mermaid graph) to share; json, junit, github (workflow commands) or sarif for machines. Nothing else is written to stdout for any but the table' -r -f -a "table\t''
json\t''
junit\t'JUnit XML: one test case per rule checked on each service'
github\t'GitHub Actions workflow commands (`::error ...`), one per problem'
sarif\t'SARIF 2.1.0'
html\t'One self-contained HTML page: the causal graph, a timeline per service, every finding with its evidence, probes and fix'
markdown\t'The HTML report\'s content as Markdown, with a Mermaid graph (a GitHub job summary, a PR comment, a ticket)'"
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand restore" -s o -l output -d 'Write the --format report to FILE; the table still goes to the terminal' -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand restore" -l logs -d 'Diagnose from pasted output, without Docker: FILE, - (stdin), or SERVICE=FILE for a plain log of one service. Recognises and splits, in any mix: compose logs transcripts, compose up output (the daemon\'s errors), docker inspect JSON (whole, State or Health), docker events, kernel OOM-killer lines, compose/docker ps tables, plain logs. Repeatable' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand restore" -l from -d 'Diagnose a bundle written by `analylit-doctor snapshot`, without Docker: the probes\' results are replayed from it' -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand restore" -l redact -d 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand restore" -s q -l quiet -d 'No progress output'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand restore" -l fix -d 'After the report, apply the safe fixes (with `check`; `fix` implies it)'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand restore" -l unsafe-fixes -d 'Also apply unsafe fixes (they change data or configuration)'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand restore" -s y -l yes -d 'Apply without asking'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand restore" -l dry-run -d 'Print every plan and change nothing'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand restore" -l no-rebuild -d 'Stop after patching the project\'s source: no rebuild, no restart, no verification (for people who deploy another way)'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand restore" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand rules; and not __fish_seen_subcommand_from list test help" -l redact -d 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand rules; and not __fish_seen_subcommand_from list test help" -s h -l help -d 'Print help'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand rules; and not __fish_seen_subcommand_from list test help" -f -a "list" -d 'List the rules (embedded, plus those of --rules DIR)'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand rules; and not __fish_seen_subcommand_from list test help" -f -a "test" -d 'Run the `[[test]]` cases of the rule files and print a pass/fail table: the embedded rules (run from the project\'s root, where their bundles are), or those of --rules DIR. Every rule needs a `match` and a `no-match` case. Exit 1 when a case fails'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand rules; and not __fish_seen_subcommand_from list test help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand rules; and __fish_seen_subcommand_from list" -l format -r -f -a "table\t''
json\t''"
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand rules; and __fish_seen_subcommand_from list" -l rules -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand rules; and __fish_seen_subcommand_from list" -l redact -d 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand rules; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand rules; and __fish_seen_subcommand_from test" -l format -r -f -a "table\t''
json\t''"
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand rules; and __fish_seen_subcommand_from test" -l rules -d 'Test the rule files of DIR (bundle paths are relative to each file\'s folder)' -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand rules; and __fish_seen_subcommand_from test" -l redact -d 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand rules; and __fish_seen_subcommand_from test" -s h -l help -d 'Print help'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand rules; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the rules (embedded, plus those of --rules DIR)'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand rules; and __fish_seen_subcommand_from help" -f -a "test" -d 'Run the `[[test]]` cases of the rule files and print a pass/fail table: the embedded rules (run from the project\'s root, where their bundles are), or those of --rules DIR. Every rule needs a `match` and a `no-match` case. Exit 1 when a case fails'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand rules; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand explain" -l rules -r -F
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand explain" -l redact -d 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand explain" -s h -l help -d 'Print help'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand completions" -l redact -d 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand completions" -s h -l help -d 'Print help'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand man" -l redact -d 'Also mask the values of this variable, in every service and in the compose file, in everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs, `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:` headers are always masked' -r
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand man" -s h -l help -d 'Print help'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand help; and not __fish_seen_subcommand_from check preflight wait snapshot fix backups restore rules explain completions man help" -f -a "check" -d 'Inspect the running compose project and report root causes with their evidence'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand help; and not __fish_seen_subcommand_from check preflight wait snapshot fix backups restore rules explain completions man help" -f -a "preflight" -d 'Before `docker compose up`: read the compose project on disk (compose files, `.env`, Dockerfiles, entrypoint scripts, gunicorn\'s config, the Python each service runs) and report what will fail at startup, with file:line, under the ids `check` uses. `--fix` applies the fixes that need no running stack (line ends, execute bit, compose edits)'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand help; and not __fish_seen_subcommand_from check preflight wait snapshot fix backups restore rules explain completions man help" -f -a "wait" -d 'Wait until every service is up (healthy; running without a health check; a one-shot exited 0). As soon as one exits, keeps restarting or turns unhealthy — or at the timeout — print the diagnosis and exit 1'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand help; and not __fish_seen_subcommand_from check preflight wait snapshot fix backups restore rules explain completions man help" -f -a "snapshot" -d 'Capture the stack for later: a .tar.gz holding its snapshot (inspect data, health logs, log tails, compose model), the probes\' results and the diagnosis, every secret redacted. `check --from FILE` diagnoses it again, anywhere, without Docker'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand help; and not __fish_seen_subcommand_from check preflight wait snapshot fix backups restore rules explain completions man help" -f -a "fix" -d 'Diagnose, then apply the fixes: each plan is shown, backed up, asked for (unless --yes), applied, verified, and rolled back when it did not work'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand help; and not __fish_seen_subcommand_from check preflight wait snapshot fix backups restore rules explain completions man help" -f -a "backups" -d 'List the backups fixes made for this project'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand help; and not __fish_seen_subcommand_from check preflight wait snapshot fix backups restore rules explain completions man help" -f -a "restore" -d 'Put a backup\'s originals back'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand help; and not __fish_seen_subcommand_from check preflight wait snapshot fix backups restore rules explain completions man help" -f -a "rules" -d 'The rules the doctor knows'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand help; and not __fish_seen_subcommand_from check preflight wait snapshot fix backups restore rules explain completions man help" -f -a "explain" -d 'Explain one failure class: what it is, its symptoms, its fix; without an id, list the classes by catalogue section'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand help; and not __fish_seen_subcommand_from check preflight wait snapshot fix backups restore rules explain completions man help" -f -a "completions" -d 'Print a shell completion script'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand help; and not __fish_seen_subcommand_from check preflight wait snapshot fix backups restore rules explain completions man help" -f -a "man" -d 'Print the man page (roff), e.g. `analylit-doctor man > analylit-doctor.1`'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand help; and not __fish_seen_subcommand_from check preflight wait snapshot fix backups restore rules explain completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand help; and __fish_seen_subcommand_from rules" -f -a "list" -d 'List the rules (embedded, plus those of --rules DIR)'
complete -c analylit-doctor -n "__fish_analylit_doctor_using_subcommand help; and __fish_seen_subcommand_from rules" -f -a "test" -d 'Run the `[[test]]` cases of the rule files and print a pass/fail table: the embedded rules (run from the project\'s root, where their bundles are), or those of --rules DIR. Every rule needs a `match` and a `no-match` case. Exit 1 when a case fails'
