# The PostgreSQL recipe of the README ("Application-consistent backups") for real: a PostgreSQL 15
# cluster in a temporary folder (as the postgres user: the server refuses to run as root), its unix
# socket in that folder and no TCP listener. A database is backed up with pg_dump through a policy's
# command and through Start-AzBackup -FromCommand, with pg_dumpall --globals-only for the roles;
# each dump is restored from the vault, loaded into a new database, and the query results compared.
BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:pgBin = '/usr/lib/postgresql/15/bin'
    if (-not (Test-Path -LiteralPath "$pgBin/initdb")) {
        throw "PostgreSQL 15 is not installed ($pgBin/initdb): tools/setup.sh installs it (package postgresql-15)."
    }
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $script:srv = New-TestBackupServer -Root $root -HostName 'pg-srv'
    $script:pp = $srv.Passphrase
    $env:AZBACKUP_UNIT_ROOT = Join-Path $root 'units'
    $env:AZBACKUP_SCHEDULER = 'cron'

    # The cluster's folder must be reachable by postgres: the test folder is private to root.
    chmod 755 $root
    $script:pg = Join-Path $root 'pg'
    $null = New-Item -ItemType Directory -Path $pg
    chown postgres:postgres $pg
    $script:socket = $pg
    $script:port = '5439'
    $script:started = [System.Diagnostics.Stopwatch]::StartNew()
    $out = runuser -u postgres -- "$pgBin/initdb" -D "$pg/data" -A trust -U postgres --no-sync 2>&1
    if ($LASTEXITCODE -ne 0) { throw "initdb failed: $out" }
    $out = runuser -u postgres -- "$pgBin/pg_ctl" -D "$pg/data" -l "$pg/server.log" -w -o "-k $socket -p $port -c listen_addresses=''" start 2>&1
    if ($LASTEXITCODE -ne 0) { throw "pg_ctl start failed: $out $(Get-Content -Raw "$pg/server.log")" }

    # psql as the postgres role over the private socket; -v ON_ERROR_STOP makes a failed statement fail the call.
    function script:Invoke-Psql([string]$Database, [string]$Sql, [string]$File) {
        $psqlArgs = @('-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-h', $socket, '-p', $port, '-U', 'postgres', '-d', $Database)
        $psqlArgs += if ($File) { @('-f', $File) } else { @('-c', $Sql) }
        $result = & "$pgBin/psql" @psqlArgs 2>&1
        if ($LASTEXITCODE -ne 0) { throw "psql failed: $result" }
        $result
    }
    # What the tests compare: every row of every table, a view, a sequence and a function, in order.
    $script:probe = @'
SELECT 'c|' || id || '|' || name || '|' || coalesce(note, '<null>') FROM customers ORDER BY id;
SELECT 'o|' || id || '|' || customer_id || '|' || total || '|' || encode(receipt, 'hex') || '|' || placed FROM orders ORDER BY id;
SELECT 'v|' || name || '|' || spent FROM customer_totals ORDER BY name;
SELECT 's|' || last_value FROM orders_id_seq;
SELECT 'f|' || vat(100.00);
'@
    function script:Get-Probe([string]$Database) { (Invoke-Psql -Database $Database -Sql $probe) -join "`n" }

    $null = Invoke-Psql -Database postgres -Sql 'CREATE DATABASE shop'
    $null = Invoke-Psql -Database postgres -Sql "CREATE ROLE reporting LOGIN PASSWORD 'not-a-real-secret'"
    $schema = Join-Path $root 'schema.sql'
    Set-Content -LiteralPath $schema -Value @'
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, note text);
CREATE TABLE orders (id serial PRIMARY KEY, customer_id int REFERENCES customers(id), total numeric(10,2), receipt bytea, placed timestamptz);
CREATE VIEW customer_totals AS SELECT c.name, sum(o.total) AS spent FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.name;
CREATE FUNCTION vat(amount numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$ SELECT round(amount * 1.21, 2) $$;
INSERT INTO customers (name, note) VALUES ('Zoë Ångström', 'unicode ✓'), ('O''Brien', NULL), (E'tab\there', 'line1
line2');
INSERT INTO customers (name) SELECT 'customer ' || g FROM generate_series(1, 2000) g;
INSERT INTO orders (customer_id, total, receipt, placed)
  SELECT 1 + (g % 2003), (g * 7 % 10000) / 100.0, decode(md5(g::text), 'hex'), timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute'
  FROM generate_series(1, 20000) g;
GRANT SELECT ON customers, orders TO reporting;
'@
    $null = Invoke-Psql -Database shop -File $schema
    $script:expected = Get-Probe shop
    $script:pgDump = "$pgBin/pg_dump"
    $script:connection = @('--host', $socket, '--port', $port, '--username', 'postgres')
}
AfterAll {
    if ($script:pg -and (Test-Path -LiteralPath "$script:pg/data/postmaster.pid")) {
        $null = runuser -u postgres -- "$script:pgBin/pg_ctl" -D "$script:pg/data" -m immediate -w stop 2>&1
    }
    if ($script:started) { Write-Host "PostgreSQL recipe tests: $([int]$script:started.Elapsed.TotalSeconds) s, cluster start included" }
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'PostgreSQL recipe' {
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home; $env:AZBACKUP_PASSPHRASE = $null }

    It 'has test data worth comparing' {
        @($expected -split "`n").Count | Should -BeGreaterThan 22000
        $expected | Should -Match 'Zoë Ångström'
    }

    It 'backs up pg_dump (custom format, as postgres through runuser) through a policy''s command; pg_restore of the restored dump into a new database gives the same query results' {
        # As the README's recipe: the engine runs as root, runuser makes pg_dump the postgres user.
        $policy = New-AzBackupPolicy -Name shop-db -FromCommand /usr/sbin/runuser -ArgumentList '-u', 'postgres', '--', 'pg_dump', '--host', $socket, '--port', $port, '--format=custom', 'shop' -StreamName 'shop.dump' |
            Set-AzBackupSchedule -Schedule (New-AzBackupSchedule -DaysOfWeek Sunday -TimesOfDay '02:00') |
            Set-AzBackupRetentionPolicy -RetentionPolicy (New-AzBackupRetentionPolicy -RetentionDays 14) |
            Set-AzBackupPolicy -StorePassphrase -Passphrase $pp
        $policy.Command.Command | Should -Be /usr/sbin/runuser
        $run = Start-AzBackup -PolicyName shop-db
        $point = $run | Where-Object { $_.PSObject.TypeNames -contains 'AzBackup.RecoveryPoint' }
        $point.Sources | Should -Be @('shop.dump')
        $target = Join-Path $root 'restore-policy'
        $null = $point | Start-AzRecovery -Target $target -Passphrase $pp
        $dump = Join-Path $target 'shop.dump'
        (Get-Item -LiteralPath $dump).Length | Should -BeGreaterThan 100000
        $null = Invoke-Psql -Database postgres -Sql 'CREATE DATABASE shop_from_policy'
        $out = & "$pgBin/pg_restore" @connection --dbname shop_from_policy --no-owner --exit-on-error $dump 2>&1
        $LASTEXITCODE | Should -Be 0 -Because "$out"
        Get-Probe shop_from_policy | Should -BeExactly $expected
    }

    It 'backs up pg_dump (plain SQL) with Start-AzBackup -FromCommand; psql loads the restored dump into a new database with the same query results' {
        $point = Start-AzBackup -FromCommand $pgDump -ArgumentList (@($connection) + @('--format=plain', 'shop')) -StreamName 'shop.sql' -Passphrase $pp
        $target = Join-Path $root 'restore-command'
        $null = $point | Start-AzRecovery -Target $target -Passphrase $pp
        $null = Invoke-Psql -Database postgres -Sql 'CREATE DATABASE shop_from_command'
        $null = Invoke-Psql -Database shop_from_command -File (Join-Path $target 'shop.sql')
        Get-Probe shop_from_command | Should -BeExactly $expected
    }

    It 'backs up the roles with pg_dumpall --globals-only, which restore into the cluster' {
        $point = Start-AzBackup -FromCommand runuser -ArgumentList '-u', 'postgres', '--', 'pg_dumpall', '--host', $socket, '--port', $port, '--globals-only' -StreamName 'globals.sql' -Passphrase $pp
        $target = Join-Path $root 'restore-globals'
        $null = $point | Start-AzRecovery -Target $target -Passphrase $pp
        $globals = Get-Content -Raw -LiteralPath (Join-Path $target 'globals.sql')
        $globals | Should -Match 'CREATE ROLE reporting;'
        # Loaded after the role is dropped, the dump brings it back with its attributes.
        $null = Invoke-Psql -Database postgres -Sql 'REASSIGN OWNED BY reporting TO postgres; DROP OWNED BY reporting'
        foreach ($db in 'shop', 'shop_from_policy', 'shop_from_command') { $null = Invoke-Psql -Database $db -Sql 'DROP OWNED BY reporting' }
        $null = Invoke-Psql -Database postgres -Sql 'DROP ROLE reporting'
        Invoke-Psql -Database postgres -Sql "SELECT count(*) FROM pg_roles WHERE rolname = 'reporting'" | Should -Be '0'
        # "role postgres already exists" is expected when the dump is loaded into the same cluster: psql without ON_ERROR_STOP.
        $null = & "$pgBin/psql" -X -q -h $socket -p $port -U postgres -d postgres -f (Join-Path $target 'globals.sql') 2>&1
        Invoke-Psql -Database postgres -Sql "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'reporting'" | Should -Be 't'
    }

    It 'runs a policy''s pre and post commands around its pg_dump: a checkpoint before, a marker after' {
        $marker = Join-Path $root 'pg-post.marker'
        $post = Join-Path $root 'pg-post.sh'
        Set-Content -LiteralPath $post -Value "#!/bin/sh`necho `"`$AZBACKUP_STATUS`" > '$marker'`n" -NoNewline
        chmod 755 $post
        $saved = Get-AzBackupPolicy shop-db | Set-AzBackupPolicy -PreCommand "$pgBin/psql" -PreArgumentList (@('-X', '-h', $socket, '-p', $port, '-U', 'postgres', '-d', 'shop', '-c', 'CHECKPOINT')) -PostCommand $post
        $saved.PreCommand.ArgumentList | Should -Contain 'CHECKPOINT'
        $null = Start-AzBackup -PolicyName shop-db
        $job = Get-AzBackupJob | Where-Object { $_.Policy -eq 'shop-db' -and $_.Operation -eq 'Backup' } | Select-Object -First 1
        $job.Status | Should -Be 'Completed'
        Get-Content -Raw -LiteralPath $job.CommandLogPath | Should -Match 'pre stdout: CHECKPOINT'
        Get-Content -LiteralPath $marker | Should -Be 'Succeeded'
    }
}
